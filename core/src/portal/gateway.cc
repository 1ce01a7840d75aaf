#include "portal/gateway.h"

#include "idp/metadata.h"
#include "portal/http.h"
#include "portal/responses.h"
#include "saml/signing_key.h"

namespace edgeidp::portal {

Decision::Decision() = default;
Decision::~Decision() = default;
Decision::Decision(Decision &&) noexcept = default;
Decision &Decision::operator=(Decision &&) noexcept = default;

namespace {

constexpr std::int64_t kDirectoryCheckInterval = 2;
constexpr std::int64_t kSessionRefreshAfter = 60;

}  // namespace

Gateway::Gateway(std::shared_ptr<const config::Config> cfg, std::string metadata)
    : cfg_(std::move(cfg)),
      metadata_(std::move(metadata)),
      directory_(cfg_->directory.path, &directory::Directory::load, kDirectoryCheckInterval),
      header_user_(cfg_->portal.headers.prefix + "User"),
      header_email_(cfg_->portal.headers.prefix + "Email"),
      header_name_(cfg_->portal.headers.prefix + "Name"),
      header_groups_(cfg_->portal.headers.prefix + "Groups"),
      header_jwt_(cfg_->portal.headers.prefix + "Jwt"),
      cookie_http_(session_cookie_name(cfg_->portal.session, false)),
      cookie_https_(session_cookie_name(cfg_->portal.session, true)) {
  for (const std::string &base : {cookie_http_, cookie_https_}) {
    for (const char *suffix : {"", "_login", "_sso"}) {
      own_cookies_.push_back(base + suffix);
    }
  }
  if (cfg_->portal.headers.jwt_signer) {
    tokens_ = std::make_unique<IdentityTokens>(cfg_->portal.headers.jwt_signer, cfg_->idp.entity_id,
                                               cfg_->portal.headers.jwt_lifetime);
  }
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
  auto metadata = idp::idp_metadata(**cfg);
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
  const std::string &name = req.https ? cookie_https_ : cookie_http_;
  const auto cookie = cookie_value(req.cookie, name);
  if (!cookie) {
    return false;
  }
  auto session = sessions_.find(*cookie, name, req.host);
  if (!session) {
    const std::string aad = session_aad(name, req.host);
    session = decode_session(s, *cookie, aad);
    if (session) {
      sessions_.put(*cookie, aad, *session);
    }
  }
  if (!session || !session_current(s, *session, req.now)) {
    log_line(d, 6, "session cookie refused (tampered, expired or from another host)");
    return false;
  }
  std::string problem;
  out.dir = directory_.get(req.now, &problem);
  d.dir = out.dir;  // d's identity views (user, email, ...) point into it
  if (!problem.empty()) {
    log_line(d, 3, "directory reload failed, " + problem);
  }
  out.user = out.dir->find_user(session->username);
  if (out.user == nullptr || !out.user->active) {
    log_line(d, 5, "session of " + session->username + " refused: user removed or inactive");
    return false;
  }
  if (revocations_) {
    const auto rev = revocations_->get(req.now, &problem);
    if (rev->revoked(session->username, session->auth_time)) {
      log_line(d, 5, "session of " + session->username + " refused: revoked");
      return false;
    }
  }
  if (req.now - session->last_seen >= kSessionRefreshAfter) {
    auto sealed = sessions_.refreshed(*cookie, name, req.host, req.now - kSessionRefreshAfter);
    if (!sealed) {
      session->last_seen = req.now;
      sealed = seal_session(s, *session, session_aad(name, req.host));
      sessions_.put_refreshed(*cookie, *sealed, req.now);
    }
    d.headers.emplace_back("Set-Cookie", cookie_header(name, *sealed, req.https, -1));
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
    log_line(d, 5, "user " + id.user->username + " is in none of the required groups");
    return d;
  }
  const directory::User &u = *id.user;
  d.user = u.username;
  d.email = u.email;
  d.name = u.name;
  d.groups = u.groups_csv;
  d.upstream[0] = {header_user_, d.user};
  d.upstream[1] = {header_email_, d.email};
  d.upstream[2] = {header_name_, d.name};
  d.upstream[3] = {header_groups_, d.groups};
  d.nupstream = 4;
  if (tokens_) {
    d.token = tokens_->get(id.dir, u, req.host, req.now);
    if (!d.token) {  // fail closed: the upstream expects a signed identity
      Decision e;
      message(e, 500, "Error", "Internal error.");
      log_line(e, 3, "cannot sign the identity header for " + u.username);
      return e;
    }
    d.upstream[d.nupstream++] = {header_jwt_, *d.token};
  }
  std::string storage;
  d.cookie_view = without_cookies(req.cookie, own_cookies_, storage).value_or(req.cookie);
  if (!storage.empty()) {
    d.cookie_view = {};  // it pointed into 'storage'
    d.cookie_storage = std::move(storage);
  }
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
  } else if (sub == "/jwks.json" && tokens_) {
    if (get) {
      d.status = 200;
      d.headers.emplace_back("Content-Type", "application/jwk-set+json");
      d.headers.emplace_back("Cache-Control", "max-age=300");
      d.body = cfg_->portal.headers.jwt_signer->jwks();
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

}  // namespace edgeidp::portal
