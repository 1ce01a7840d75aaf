#include "portal/gateway.h"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "auth/password.h"
#include "common/random.h"
#include "common/strings.h"
#include "idp/issue.h"
#include "portal/http.h"
#include "portal/pages.h"
#include "portal/redirect.h"
#include "portal/session.h"
#include "saml/metadata.h"
#include "sso/authn_request.h"

namespace edgeidp::portal {

struct Gateway::Identity {
  std::shared_ptr<const directory::Directory> dir;
  const directory::User *user = nullptr;
  Session session;
};

Decision::Decision() = default;
Decision::~Decision() = default;
Decision::Decision(Decision &&) noexcept = default;
Decision &Decision::operator=(Decision &&) noexcept = default;

namespace {

constexpr std::int64_t kDirectoryCheckInterval = 2;
constexpr std::int64_t kLoginStateLifetime = 900;
constexpr std::int64_t kSessionRefreshAfter = 60;
constexpr const char *kGenericLoginError = "Invalid username or password.";

// Never cache portal pages; never let another site frame them.
void page(Decision &d, int status, const Page &p) {
  d.status = status;
  d.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  d.headers.emplace_back("Cache-Control", "no-store");
  d.headers.emplace_back("Content-Security-Policy", p.csp);
  d.headers.emplace_back("X-Frame-Options", "DENY");
  d.headers.emplace_back("X-Content-Type-Options", "nosniff");
  d.headers.emplace_back("Referrer-Policy", "same-origin");
  d.body = p.html;
}

void message(Decision &d, int status, std::string_view title, std::string_view text) {
  page(d, status, message_page(title, text));
}

void redirect(Decision &d, const std::string &location) {
  d.status = 302;
  d.headers.emplace_back("Location", location);
  d.headers.emplace_back("Cache-Control", "no-store");
}

void log(Decision &d, int level, std::string text) {
  d.log_level = level;
  d.log = std::move(text);
}

std::string portal_path(const config::Config &cfg, const Location &loc) {
  if (!loc.portal_path.empty()) {
    std::string p = loc.portal_path;
    while (p.size() > 1 && p.back() == '/') {
      p.pop_back();
    }
    return p;
  }
  // The path part of [idp].base_url.
  const std::string &base = cfg.idp.base_url;
  const std::size_t scheme = base.find("://");
  const std::size_t slash =
      scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  return slash == std::string::npos ? std::string() : base.substr(slash);
}

std::string random_token() {
  SystemRandom rng;
  unsigned char b[18];
  if (!rng.fill(b, sizeof b)) {
    return {};
  }
  return base64url_encode(std::string_view(reinterpret_cast<char *>(b), sizeof b));
}

bool in_any(const std::vector<std::string> &wanted, const directory::User &u) {
  return wanted.empty() || std::any_of(wanted.begin(), wanted.end(), [&](const std::string &g) {
           return std::binary_search(u.groups.begin(), u.groups.end(), g);
         });
}

std::string join_groups(const directory::User &u) {
  std::string out;
  for (const auto &g : u.groups) {
    out += (out.empty() ? "" : ",") + g;
  }
  return out;
}

std::string cookie_header(const std::string &name, const std::string &value, bool https,
                          std::int64_t max_age) {
  CookieOptions o;
  o.secure = https;
  o.max_age = max_age;
  return set_cookie(name, value, o);
}

}  // namespace

Gateway::Gateway(std::shared_ptr<const config::Config> cfg, std::string metadata)
    : cfg_(std::move(cfg)),
      metadata_(std::move(metadata)),
      directory_(cfg_->directory.path, &directory::Directory::load, kDirectoryCheckInterval) {
  if (!cfg_->portal.session.revocations_file.empty()) {
    revocations_ = std::make_unique<WatchedFile<Revocations>>(
        cfg_->portal.session.revocations_file, &Revocations::load, kDirectoryCheckInterval);
  }
}

Result<std::unique_ptr<Gateway>> Gateway::load(const std::string &config_path) {
  auto cfg = config::load(config_path);
  if (!cfg) {
    return cfg.take_error();
  }
  if (!(*cfg)->portal.present) {
    return config_error(config_path, 0, "session",
                        "the web server modules need a [session] table with keys = [\"FILE\"] "
                        "(make a key with: edgeidp keygen --session-key FILE)");
  }
  saml::IdpMetadataInput md;
  md.entity_id = (*cfg)->idp.entity_id;
  md.sso_url = (*cfg)->idp.base_url + "/sso";
  md.name_id_formats = {saml::kNameIdPersistent, saml::kNameIdEmail, saml::kNameIdTransient,
                        saml::kNameIdUnspecified};
  auto metadata = saml::build_idp_metadata(md, *(*cfg)->signing_key);
  if (!metadata) {
    return metadata.take_error();
  }
  auto gw = std::make_unique<Gateway>(std::move(*cfg), std::move(*metadata));
  if (auto st = gw->directory_.load(); !st) {
    return st.take_error();
  }
  if (gw->revocations_) {
    if (auto st = gw->revocations_->load(); !st) {
      return st.take_error();
    }
  }
  return gw;
}

Status Gateway::check_location(const Location &loc) const {
  if (loc.kind == LocationKind::saml_app && cfg_->find_app(loc.app) == nullptr) {
    return make_error(Errc::config, "no [[app]] named \"" + loc.app + "\" in " + cfg_->path);
  }
  const auto dir = directory_.get(0);
  for (const auto &g : loc.groups) {
    if (dir->find_group(g) == nullptr) {
      return make_error(Errc::config, "no group named \"" + g + "\" in " + cfg_->directory.path);
    }
  }
  if (loc.kind == LocationKind::portal && loc.portal_path.empty()) {
    return make_error(Errc::config, "the portal needs the location's path");
  }
  return {};
}

bool Gateway::is_identity_header(std::string_view name) const {
  return header_has_prefix(name, cfg_->portal.headers.prefix);
}

std::int64_t Gateway::count(std::string_view key, std::int64_t delta, std::int64_t expires) const {
  if (counters_) {
    return counters_(key, delta, expires);
  }
  std::lock_guard<std::mutex> lock(local_mu_);
  auto it = local_.find(key);
  const std::int64_t now = expires - cfg_->portal.portal.failure_window;
  if (it == local_.end() || it->second.second <= now) {
    it = local_.insert_or_assign(std::string(key), std::make_pair(std::int64_t{0}, expires)).first;
  }
  it->second.first += delta;
  return it->second.first;
}

bool Gateway::identify(const Request &req, Identity &out, Decision &d) const {
  const auto &s = cfg_->portal.session;
  const std::string name = session_cookie_name(s, req.https);
  const auto cookie = cookie_value(req.cookie, name);
  if (!cookie) {
    return false;
  }
  const std::string aad = session_aad(name, req.host);
  auto session = open_session(s, *cookie, aad, req.now);
  if (!session) {
    log(d, 6, "session cookie refused (tampered, expired or from another host)");
    return false;
  }
  std::string problem;
  out.dir = directory_.get(req.now, &problem);
  if (!problem.empty()) {
    log(d, 3, "directory reload failed, " + problem);
  }
  out.user = out.dir->find_user(session->username);
  if (out.user == nullptr || !out.user->active) {
    log(d, 5, "session of " + session->username + " refused: user removed or inactive");
    return false;
  }
  if (revocations_) {
    const auto rev = revocations_->get(req.now, &problem);
    if (rev->revoked(session->username, session->auth_time)) {
      log(d, 5, "session of " + session->username + " refused: revoked");
      return false;
    }
  }
  if (req.now - session->last_seen >= kSessionRefreshAfter) {
    session->last_seen = req.now;
    d.headers.emplace_back("Set-Cookie",
                           cookie_header(name, seal_session(s, *session, aad), req.https, -1));
  }
  out.session = std::move(*session);
  return true;
}

Decision Gateway::handle(const Location &loc, const Request &req) const {
  switch (loc.kind) {
    case LocationKind::protect:
      return protect(loc, req);
    case LocationKind::portal:
      return portal(loc, req);
    case LocationKind::saml_app:
      return saml_app(loc, req, loc.app);
  }
  Decision d;
  message(d, 500, "Error", "Internal error.");
  return d;
}

Decision Gateway::protect(const Location &loc, const Request &req) const {
  Decision d;
  Identity id;
  if (!identify(req, id, d)) {
    d.headers.clear();
    if (is_api_request(req.accept, req.sec_fetch_mode, req.x_requested_with) &&
        !cfg_->portal.portal.redirect_api_callers) {
      d.status = 401;
      d.headers.emplace_back("Content-Type", "application/json");
      d.headers.emplace_back("Cache-Control", "no-store");
      d.body =
          "{\"error\":\"login required\",\"login\":\"" + portal_path(*cfg_, loc) + "/login\"}\n";
      return d;
    }
    std::string back(req.uri);
    if (!req.args.empty()) {
      back.append("?").append(req.args);
    }
    redirect(d, portal_path(*cfg_, loc) + "/login?return_to=" + percent_encode(back));
    return d;
  }
  if (!in_any(loc.groups, *id.user)) {
    message(d, 403, "Access denied", "You are signed in, but not allowed to use this page.");
    log(d, 5, "user " + id.user->username + " is in none of the required groups");
    return d;
  }
  const std::string &prefix = cfg_->portal.headers.prefix;
  d.user = id.user->username;
  d.email = id.user->email;
  d.name = id.user->name;
  d.groups = join_groups(*id.user);
  d.upstream.emplace_back(prefix + "User", d.user);
  d.upstream.emplace_back(prefix + "Email", d.email);
  d.upstream.emplace_back(prefix + "Name", d.name);
  d.upstream.emplace_back(prefix + "Groups", d.groups);
  return d;
}

Decision Gateway::portal(const Location &loc, const Request &req) const {
  const std::string base = portal_path(*cfg_, loc);
  std::string_view sub = req.uri;
  Decision d;
  if (sub.substr(0, base.size()) != base) {
    message(d, 404, "Not found", "No such page.");
    return d;
  }
  sub.remove_prefix(base.size());
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  if (sub == "/login") {
    if (post) {
      return login_post(loc, req);
    }
    if (get) {
      return login_form(loc, req, "", "", "", 200);
    }
  } else if (sub == "/logout") {
    if (get || post) {
      return logout(loc, req);
    }
  } else if (sub.empty() || sub == "/") {
    if (get) {
      return launcher(loc, req);
    }
  } else if (sub == "/metadata") {
    if (get) {
      d.status = 200;
      d.headers.emplace_back("Content-Type", "application/samlmetadata+xml");
      d.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"edgeidp-metadata.xml\"");
      d.body = metadata_;
      return d;
    }
  } else if (sub == "/cert.pem") {
    if (get) {
      d.status = 200;
      d.headers.emplace_back("Content-Type", "application/x-pem-file");
      d.headers.emplace_back("Content-Disposition", "attachment; filename=\"edgeidp-signing.pem\"");
      d.body = cfg_->signing_key->cert_pem();
      return d;
    }
  } else if (sub == "/sso") {
    if (get || post) {
      return sso(loc, req);
    }
  } else if (sub == "/sso/continue") {
    if (get) {
      return sso_continue(loc, req);
    }
  } else if (sub.substr(0, 5) == "/app/") {
    if (get) {
      return saml_app(loc, req, sub.substr(5));
    }
  } else {
    message(d, 404, "Not found", "No such page.");
    return d;
  }
  message(d, 405, "Method not allowed", "This page does not accept that method.");
  d.headers.emplace_back("Allow", sub == "/login" ? "GET, HEAD, POST" : "GET, HEAD");
  return d;
}

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
      log(d, 5, "refused return_to that is not a same-origin path");
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
    log(d, 5, "login form body over the limit");
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
    log(d, 5, "malformed login form");
    return d;
  }
  if (!state || csrf == nullptr || csrf->size() != state->csrf.size() ||
      CRYPTO_memcmp(csrf->data(), state->csrf.data(), csrf->size()) != 0) {
    Decision again =
        login_form(loc, req, "Your sign-in form expired. Please try again.", "", "", 403);
    log(again, 5, "login refused: missing or wrong CSRF token");
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
    log(d, 3, "login counter store failed; refusing logins");
    return d;
  }
  if (ufail >= limits.max_failures_per_user || afail >= limits.max_failures_per_address) {
    message(d, 429, "Too many attempts", "Too many failed sign-in attempts. Try again later.");
    d.headers.emplace_back("Retry-After", std::to_string(limits.failure_window));
    log(d, 5,
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

void Gateway::run_task(LoginTask &task) {
  auto user = auth::authenticate(*task.dir, task.username, task.password);
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
    log(d, 5,
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
  log(d, 6, "login of \"" + task->username + "\" from " + task->client_addr);
  return d;
}

Decision Gateway::launcher(const Location &loc, const Request &req) const {
  Decision d;
  Identity id;
  if (!identify(req, id, d)) {
    d.headers.clear();
    redirect(d, portal_path(*cfg_, loc) + "/login");
    return d;
  }
  const std::string base = portal_path(*cfg_, loc);
  std::vector<LauncherEntry> entries;
  for (const auto &app : cfg_->apps) {
    if (idp::may_use(app, *id.user)) {
      entries.push_back(
          {app.display_name,
           app.launch_url.empty() ? base + "/app/" + percent_encode(app.name) : app.launch_url,
           "SAML"});
    }
  }
  for (const auto &link : cfg_->portal.links) {
    if (in_any(link.groups, *id.user)) {
      entries.push_back({link.display_name, link.url, "web"});
    }
  }
  page(d, 200, launcher_page(id.user->name, base + "/logout", entries));
  d.user = id.user->username;
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

Decision Gateway::saml_app(const Location &loc, const Request &req,
                           std::string_view app_name) const {
  Decision d;
  const config::App *app = cfg_->find_app(app_name);
  if (app == nullptr) {
    message(d, 404, "Not found", "There is no such application.");
    return d;
  }
  Identity id;
  if (!identify(req, id, d)) {
    d.headers.clear();
    redirect(d, portal_path(*cfg_, loc) + "/login?return_to=" + percent_encode(req.uri));
    return d;
  }
  idp::IssueOptions opts;
  opts.now = req.now;
  opts.authn_instant = id.session.auth_time;
  SystemRandom rng;
  auto issued = idp::issue(*cfg_, *id.dir, *app, *id.user, opts, rng);
  if (!issued) {
    const bool denied = issued.error().code == Errc::denied;
    message(d, 403, "Access denied",
            denied ? "You are not allowed to use this application."
                   : "Your account is not set up for this application. Ask your administrator.");
    log(d, denied ? 5 : 4, issued.error().describe());
    return d;
  }
  AutoPost p;
  p.acs_url = issued->acs_url;
  p.saml_response = issued->base64;
  p.relay_state = issued->relay_state;
  p.nonce = random_token();
  p.app_name = app->display_name;
  page(d, 200, auto_post_page(p));
  d.user = id.user->username;
  log(d, 6, "issued a SAML response for app " + app->name + " to " + id.user->username);
  return d;
}

}  // namespace edgeidp::portal

namespace edgeidp::portal {
namespace {

// An SP-initiated request waiting for the user to log in: kept in one
// sealed, short-lived cookie (bounded: a new request replaces it).
struct Pending {
  std::string app, id, acs, relay_state;
  std::int64_t created = 0;
  bool force_authn = false;
};

constexpr std::int64_t kPendingLifetime = 600;
constexpr std::int64_t kRequestMaxAge = 300;

std::string pending_cookie_name(const config::SessionSettings &s, bool https) {
  return session_cookie_name(s, https) + "_sso";
}

std::string seal_pending(const config::SessionSettings &s, const Pending &p, std::string_view aad) {
  const nlohmann::json j = {{"a", p.app},         {"i", p.id},      {"u", p.acs},
                            {"r", p.relay_state}, {"t", p.created}, {"f", p.force_authn}};
  return s.sealer.seal(j.dump(), std::string(aad) + "|sso");
}

std::optional<Pending> open_pending(const config::SessionSettings &s, std::string_view cookie,
                                    std::string_view aad, std::int64_t now) {
  auto plain = s.sealer.open(cookie, std::string(aad) + "|sso", 8192);
  if (!plain) {
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(*plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  Pending p;
  try {
    p.app = j.at("a").get<std::string>();
    p.id = j.at("i").get<std::string>();
    p.acs = j.at("u").get<std::string>();
    p.relay_state = j.at("r").get<std::string>();
    p.created = j.at("t").get<std::int64_t>();
    p.force_authn = j.at("f").get<bool>();
  } catch (const nlohmann::json::exception &) {
    return std::nullopt;
  }
  if (now - p.created >= kPendingLifetime) {
    return std::nullopt;
  }
  return p;
}

void bad_request(Decision &d, const std::string &why) {
  message(d, 400, "Sign-in request refused",
          "The application sent a sign-in request edgeidp cannot accept.");
  log(d, 5, "SP-initiated request refused: " + why);
}

}  // namespace

Decision Gateway::sso(const Location &loc, const Request &req) const {
  Decision d;
  // Parse first without verifying: the Issuer says whose key to verify with.
  sso::RedirectMessage msg;
  Result<sso::AuthnRequest> parsed = make_error(Errc::invalid, "no request");
  std::string relay_state;
  std::string post_request;
  if (req.method == "POST") {
    if (req.body_truncated || req.body.size() > sso::kMaxEncodedRequest + 4096) {
      bad_request(d, "body over the size limit");
      d.status = 413;
      return d;
    }
    const auto form = parse_form(req.body);
    const std::string *b64 = form ? field(*form, "SAMLRequest") : nullptr;
    if (b64 == nullptr) {
      bad_request(d, "no SAMLRequest in the form");
      return d;
    }
    if (const std::string *rs = field(*form, "RelayState")) {
      relay_state = *rs;
    }
    post_request = *b64;
    parsed = sso::decode_post(post_request, {}, false);
  } else {
    auto m = sso::parse_redirect_query(req.args);
    if (!m) {
      bad_request(d, m.error().message);
      return d;
    }
    msg = std::move(*m);
    relay_state = msg.relay_state;
    parsed = sso::decode_redirect(msg, {}, false);
  }
  if (!parsed) {
    bad_request(d, parsed.error().message);
    return d;
  }
  if (relay_state.size() > sso::kMaxRelayState || !is_valid_utf8(relay_state)) {
    bad_request(d, "RelayState too long or not UTF-8");
    return d;
  }
  const sso::AuthnRequest &ar = *parsed;
  const config::App *app = nullptr;
  for (const auto &a : cfg_->apps) {
    if (!a.sp_entity_id.empty() && a.sp_entity_id == ar.issuer) {
      app = &a;
    }
  }
  if (app == nullptr) {
    bad_request(d, "unknown Issuer \"" + ar.issuer + "\" (no [[app]] has this SP entity ID)");
    return d;
  }
  // Signatures: required when the SP's metadata says it signs; checked
  // whenever one is present and we have the SP's key.
  const bool has_sig = req.method == "POST" ? ar.signed_xml : !msg.signature.empty();
  if (app->authn_requests_signed || (has_sig && !app->sp_certs_pem.empty())) {
    if (app->sp_certs_pem.empty()) {
      bad_request(d, "app " + app->name +
                         ": requests must be signed but the SP metadata has no "
                         "signing certificate");
      return d;
    }
    const Status st = req.method == "POST"
                          ? Status(sso::decode_post(post_request, app->sp_certs_pem, true).ok()
                                       ? Status()
                                       : Status(make_error(Errc::invalid, "bad XML signature")))
                          : sso::verify_redirect_signature(msg, app->sp_certs_pem);
    if (!st) {
      bad_request(d, "app " + app->name + ": " + st.error().message);
      return d;
    }
  }
  // Where the response may go: only an ACS from the app's metadata.
  std::string acs = app->acs_url;
  if (!ar.acs_url.empty()) {
    if (std::find(app->acs_urls.begin(), app->acs_urls.end(), ar.acs_url) == app->acs_urls.end()) {
      bad_request(d, "app " + app->name + ": AssertionConsumerServiceURL \"" + ar.acs_url +
                         "\" is not in the SP metadata");
      return d;
    }
    acs = ar.acs_url;
  }
  if (!ar.destination.empty() && ar.destination != cfg_->idp.base_url + "/sso") {
    bad_request(d, "Destination \"" + ar.destination + "\" is not this IdP's SSO URL " +
                       cfg_->idp.base_url + "/sso");
    return d;
  }
  if (ar.issue_instant > req.now + app->clock_skew ||
      ar.issue_instant < req.now - kRequestMaxAge - app->clock_skew) {
    bad_request(d, "stale or future IssueInstant (clock skew?)");
    return d;
  }
  // Each request ID is answered once.
  const std::int64_t seen =
      count("rq:" + ar.issuer + "|" + ar.id, 1, req.now + kRequestMaxAge + 2 * app->clock_skew);
  if (seen != 1) {
    bad_request(d, seen < 0 ? "replay store failed" : "replayed request ID " + ar.id);
    return d;
  }
  const auto &s = cfg_->portal.session;
  const std::string pname = pending_cookie_name(s, req.https);
  Pending p{app->name, ar.id, acs, relay_state, req.now, ar.force_authn};
  d.headers.emplace_back("Set-Cookie",
                         cookie_header(pname, seal_pending(s, p, session_aad(pname, req.host)),
                                       req.https, kPendingLifetime));
  redirect(d, portal_path(*cfg_, loc) + "/sso/continue");
  return d;
}

Decision Gateway::sso_continue(const Location &loc, const Request &req) const {
  Decision d;
  const auto &s = cfg_->portal.session;
  const std::string base = portal_path(*cfg_, loc);
  const std::string pname = pending_cookie_name(s, req.https);
  std::optional<Pending> p;
  if (const auto c = cookie_value(req.cookie, pname)) {
    p = open_pending(s, *c, session_aad(pname, req.host), req.now);
  }
  if (!p) {
    message(d, 400, "Sign-in expired", "Start the sign-in again from the application.");
    log(d, 6, "no pending SP-initiated request (expired or missing cookie)");
    return d;
  }
  const config::App *app = cfg_->find_app(p->app);
  Identity id;
  const bool have = identify(req, id, d);
  if (!have || app == nullptr || (p->force_authn && id.session.auth_time < p->created)) {
    Decision r;
    redirect(r, base + "/login?return_to=" + percent_encode(base + "/sso/continue"));
    return r;
  }
  idp::IssueOptions opts;
  opts.now = req.now;
  opts.authn_instant = id.session.auth_time;
  opts.in_response_to = p->id;
  opts.acs_url = p->acs;
  opts.relay_state = p->relay_state;
  SystemRandom rng;
  auto issued = idp::issue(*cfg_, *id.dir, *app, *id.user, opts, rng);
  d.headers.emplace_back("Set-Cookie", cookie_header(pname, "", req.https, 0));
  if (!issued) {
    const bool denied = issued.error().code == Errc::denied;
    message(d, 403, "Access denied",
            denied ? "You are not allowed to use this application."
                   : "Your account is not set up for this application. Ask your administrator.");
    log(d, denied ? 5 : 4, issued.error().describe());
    return d;
  }
  AutoPost post;
  post.acs_url = issued->acs_url;
  post.saml_response = issued->base64;
  post.relay_state = p->relay_state;  // echoed as received, even if empty
  post.nonce = random_token();
  post.app_name = app->display_name;
  page(d, 200, auto_post_page(post));
  d.user = id.user->username;
  log(d, 6, "answered an SP-initiated request for app " + app->name + " from " + id.user->username);
  return d;
}

}  // namespace edgeidp::portal
