#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "idp/issue.h"
#include "portal/gateway.h"
#include "portal/http.h"
#include "portal/responses.h"
#include "portal/session.h"
#include "sso/authn_request.h"

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
  log_line(d, 5, "SP-initiated request refused: " + why);
}

}  // namespace

Decision Gateway::sso(const Location &loc, const Request &req) const {
  Decision d;
  // Decode once without keys: the Issuer says whose keys verify it.
  const bool post = req.method == "POST";
  sso::RedirectMessage msg;
  Result<sso::AuthnRequest> parsed = make_error(Errc::invalid, "no request");
  std::string relay_state;
  if (post) {
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
    parsed = sso::decode_post(*b64);
  } else {
    auto m = sso::parse_redirect_query(req.args);
    if (!m) {
      bad_request(d, m.error().message);
      return d;
    }
    msg = std::move(*m);
    relay_state = msg.relay_state;
    parsed = sso::decode_redirect(msg);
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
  const bool has_sig = post ? ar.signed_xml : !msg.signature.empty() || !msg.sig_alg.empty();
  if (app->authn_requests_signed || (has_sig && !app->sp_certs_pem.empty())) {
    if (app->sp_certs_pem.empty()) {
      bad_request(d, "app " + app->name +
                         ": requests must be signed but the SP metadata has no "
                         "signing certificate");
      return d;
    }
    const Status st = post ? sso::verify_post_signature(ar, app->sp_certs_pem)
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
    log_line(d, 6, "no pending SP-initiated request (expired or missing cookie)");
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
  d.headers.emplace_back("Set-Cookie", cookie_header(pname, "", req.https, 0));
  post_response(d, *app, id, opts);
  return d;
}

}  // namespace edgeidp::portal
