#include <algorithm>

#include <openssl/crypto.h>

#include "auth/password.h"
#include "common/strings.h"
#include "portal/gateway.h"
#include "portal/http.h"
#include "portal/redirect.h"
#include "portal/responses.h"
#include "portal/session.h"

namespace edgeidp::portal {
namespace {

constexpr std::int64_t kLoginStateLifetime = 900;
constexpr const char *kGenericLoginError = "Invalid username or password.";

}  // namespace

Decision Gateway::login_form(const Location &loc, const Request &req, std::string_view error,
                             std::string_view notice, std::string_view username, int status) const {
  const auto &s = cfg_->portal.session;
  const std::string base = portal_path(*cfg_, loc);
  const std::string name = login_cookie_name(s, req.https);
  const std::string aad = session_aad(name, req.host);
  Decision d;
  // Reuse a pending login state: one bounded cookie, whatever the number
  // of tabs or attempts.
  std::optional<LoginState> state;
  if (const auto c = cookie_value(req.cookie, name)) {
    state = open_login_state(s, *c, aad, req.now);
  }
  std::string return_to = base + "/";
  const auto args = parse_form(req.args);
  if (args) {
    if (const std::string *r = field(*args, "return_to"); r != nullptr && is_safe_return_path(*r)) {
      return_to = *r;
    } else if (r != nullptr) {
      log_line(d, 5, "refused return_to that is not a same-origin path");
    }
  }
  const bool asked_for_return = args && field(*args, "return_to") != nullptr;
  if (!state || (asked_for_return && state->return_to != return_to)) {
    LoginState fresh;
    fresh.csrf = state ? state->csrf : random_token();
    fresh.return_to = asked_for_return || !state ? return_to : state->return_to;
    fresh.expires = req.now + kLoginStateLifetime;
    state = fresh;
    if (state->csrf.empty()) {
      message(d, 500, "Error", "Internal error.");
      return d;
    }
  }
  state->expires = req.now + kLoginStateLifetime;
  d.headers.emplace_back("Set-Cookie", cookie_header(name, seal_login_state(s, *state, aad),
                                                     req.https, kLoginStateLifetime));
  LoginPage p;
  p.action = base + "/login";
  p.csrf = state->csrf;
  p.username = std::string(username);
  p.error = std::string(error);
  p.notice = std::string(notice);
  if (p.notice.empty() && args && field(*args, "logged_out") != nullptr) {
    p.notice = "You have been signed out.";
  }
  p.custom_template = cfg_->portal.portal.login_template;
  page(d, status, login_page(p));
  return d;
}

Decision Gateway::login_post(const Location &loc, const Request &req) const {
  const auto &s = cfg_->portal.session;
  const auto &limits = cfg_->portal.portal;
  Decision d;
  if (req.body_truncated || req.body.size() > static_cast<std::size_t>(limits.max_body)) {
    message(d, 413, "Too large", "The form is too large.");
    log_line(d, 5, "login form body over the limit");
    return d;
  }
  const std::string lname = login_cookie_name(s, req.https);
  const std::string aad = session_aad(lname, req.host);
  std::optional<LoginState> state;
  if (const auto c = cookie_value(req.cookie, lname)) {
    state = open_login_state(s, *c, aad, req.now);
  }
  const auto form = parse_form(req.body);
  const std::string *csrf = form ? field(*form, "csrf") : nullptr;
  const std::string *user = form ? field(*form, "username") : nullptr;
  const std::string *pass = form ? field(*form, "password") : nullptr;
  if (!form || user == nullptr || pass == nullptr) {
    message(d, 400, "Bad request", "The login form was incomplete.");
    log_line(d, 5, "malformed login form");
    return d;
  }
  if (!state || csrf == nullptr || csrf->size() != state->csrf.size() ||
      CRYPTO_memcmp(csrf->data(), state->csrf.data(), csrf->size()) != 0) {
    Decision again =
        login_form(loc, req, "Your sign-in form expired. Please try again.", "", "", 403);
    log_line(again, 5, "login refused: missing or wrong CSRF token");
    return again;
  }
  if (user->empty() || user->size() > 256 || !is_valid_utf8(*user)) {
    return login_form(loc, req, kGenericLoginError, "", "", 401);
  }
  const std::int64_t expires = req.now + limits.failure_window;
  const std::string ukey = "u:" + *user;
  const std::string akey = "a:" + std::string(req.client_addr);
  const std::int64_t ufail = count(ukey, 0, expires);
  const std::int64_t afail = count(akey, 0, expires);
  if (ufail < 0 || afail < 0) {
    message(d, 503, "Unavailable", "Please try again later.");
    log_line(d, 3, "login counter store failed; refusing logins");
    return d;
  }
  if (ufail >= limits.max_failures_per_user || afail >= limits.max_failures_per_address) {
    message(d, 429, "Too many attempts", "Too many failed sign-in attempts. Try again later.");
    d.headers.emplace_back("Retry-After", std::to_string(limits.failure_window));
    log_line(d, 5,
             "login throttled for " + std::string(ufail >= limits.max_failures_per_user
                                                      ? "user " + *user
                                                      : "address " + std::string(req.client_addr)));
    return d;
  }
  auto task = std::make_unique<LoginTask>();
  task->loc = loc;
  task->username = *user;
  task->password = *pass;
  task->client_addr = std::string(req.client_addr);
  task->host = std::string(req.host);
  task->cookie = std::string(req.cookie);
  task->return_to = state->return_to;
  task->https = req.https;
  task->now = req.now;
  task->dir = directory_.get(req.now);
  d.task = std::move(task);
  return d;
}

void Gateway::run_task(LoginTask &task, auth::Pause pause) {
  auto user = auth::authenticate(*task.dir, task.username, task.password, pause);
  task.ok = user.ok();
  if (!user) {
    task.why = user.error().message;
  }
  OPENSSL_cleanse(task.password.data(), task.password.size());
}

Decision Gateway::finish_task(std::unique_ptr<LoginTask> task) const {
  const auto &s = cfg_->portal.session;
  Request req;
  req.host = task->host;
  req.https = task->https;
  req.now = task->now;
  req.cookie = task->cookie;
  if (!task->ok) {
    const std::int64_t expires = task->now + cfg_->portal.portal.failure_window;
    (void)count("u:" + task->username, 1, expires);
    (void)count("a:" + task->client_addr, 1, expires);
    Decision d = login_form(task->loc, req, kGenericLoginError, "", task->username, 401);
    log_line(
        d, 5,
        "failed login for \"" + task->username + "\" from " + task->client_addr + ": " + task->why);
    return d;
  }
  Decision d;
  // A fresh session on every login: whatever cookie came in is ignored.
  Session session{task->username, task->now, task->now};
  const std::string name = session_cookie_name(s, task->https);
  d.headers.emplace_back(
      "Set-Cookie", cookie_header(name, seal_session(s, session, session_aad(name, task->host)),
                                  task->https, -1));
  d.headers.emplace_back("Set-Cookie",
                         cookie_header(login_cookie_name(s, task->https), "", task->https, 0));
  redirect(d, task->return_to);
  log_line(d, 6, "login of \"" + task->username + "\" from " + task->client_addr);
  return d;
}

Decision Gateway::logout(const Location &loc, const Request &req) const {
  Decision d;
  const auto &s = cfg_->portal.session;
  d.headers.emplace_back("Set-Cookie",
                         cookie_header(session_cookie_name(s, req.https), "", req.https, 0));
  redirect(d, portal_path(*cfg_, loc) + "/login?logged_out=1");
  return d;
}

}  // namespace edgeidp::portal
