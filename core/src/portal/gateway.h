// The web gateway: everything the nginx and Apache modules do, as plain C++
// decisions. The glue copies a request in and applies the Decision that
// comes out; it knows nothing of sessions, forms or SAML.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/crypto.h>

#include "auth/bcrypt.h"
#include "common/result.h"
#include "config/config.h"
#include "directory/directory.h"
#include "idp/issue.h"
#include "portal/identity_token.h"
#include "portal/revocations.h"
#include "portal/session.h"
#include "portal/session_cache.h"
#include "portal/watched_file.h"

namespace edgeidp::portal {

struct Request {
  std::string_view method, uri, args, host;
  bool https = false;
  std::string_view client_addr, cookie, content_type, body;
  bool body_truncated = false;
  std::string_view accept, sec_fetch_mode, x_requested_with;
  std::int64_t now = 0;
};

enum class LocationKind { protect, portal, saml_app };

struct Location {
  LocationKind kind = LocationKind::protect;
  std::vector<std::string> groups;
  std::string app;
  std::string portal_path;  // where the portal is mounted, e.g. "/edgeidp"
};

// The slow part of a login, run off the event loop: copies of everything it
// needs, so it touches no server or request memory.
struct LoginTask {
  Location loc;
  std::string username, password, client_addr, host, return_to, cookie;
  bool https = false;
  std::int64_t now = 0;
  std::shared_ptr<const directory::Directory> dir;
  bool ok = false;
  std::string why;  // for the log

  ~LoginTask() { OPENSSL_cleanse(password.data(), password.size()); }
};

struct Decision {
  int status = 0;  // 0: continue to the content (allowed)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The identity, for upstream headers and variables (status 0) and logs.
  // The views point into 'dir' (the user's record, set by identify) and
  // into the Gateway (header names): a protected request copies no
  // strings.
  struct Header {
    std::string_view name, value;
  };
  static constexpr std::size_t kMaxUpstream = 5;
  std::array<Header, kMaxUpstream> upstream{};
  std::size_t nupstream = 0;
  std::string_view user, email, name, groups;
  std::shared_ptr<const directory::Directory> dir;
  std::shared_ptr<const std::string> token;  // the signed identity header's value
  // status 0: the request's cookies without the gateway's own, for
  // upstreams. It is cookie_storage when that is set (a view into it would
  // not survive a move of the Decision), else cookie_view (into the
  // request).
  std::string_view cookie_view;
  std::string cookie_storage;
  std::string_view upstream_cookie() const {
    return cookie_storage.empty() ? cookie_view : std::string_view(cookie_storage);
  }
  int log_level = 0;  // syslog numbering; 0: nothing to log
  std::string log;
  std::unique_ptr<LoginTask> task;

  Decision();
  ~Decision();
  Decision(Decision &&) noexcept;
  Decision &operator=(Decision &&) noexcept;
};

// Counters shared between processes (failed logins); the glue's store.
using CounterAdd =
    std::function<std::int64_t(std::string_view key, std::int64_t delta, std::int64_t expires)>;

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> load(const std::string &config_path);

  // check_location validates a location's settings (app and groups exist).
  Status check_location(const Location &loc) const;
  Decision handle(const Location &loc, const Request &req) const;
  // run_task does a LoginTask's slow part, calling 'pause' (if any)
  // between a bcrypt hash's rounds; finish_task makes its decision.
  static void run_task(LoginTask &task, auth::Pause pause = nullptr);
  Decision finish_task(std::unique_ptr<LoginTask> task) const;

  bool is_identity_header(std::string_view name) const;
  void set_counters(CounterAdd add) { counters_ = std::move(add); }
  const config::Config &config() const { return *cfg_; }

  Gateway(std::shared_ptr<const config::Config> cfg, std::string metadata);

 private:
  Decision protect(const Location &loc, const Request &req) const;
  Decision portal(const Location &loc, const Request &req) const;
  Decision saml_app(const Location &loc, const Request &req, std::string_view app_name) const;
  Decision login_form(const Location &loc, const Request &req, std::string_view error,
                      std::string_view notice, std::string_view username, int status) const;
  Decision login_post(const Location &loc, const Request &req) const;
  Decision launcher(const Location &loc, const Request &req) const;
  Decision logout(const Location &loc, const Request &req) const;
  Decision sso(const Location &loc, const Request &req) const;
  Decision sso_continue(const Location &loc, const Request &req) const;

  // Who a request's session belongs to, in the directory as it is now.
  struct Identity {
    std::shared_ptr<const directory::Directory> dir;
    const directory::User *user = nullptr;
    Session session;
  };
  // identify opens the session cookie and finds its user in the current
  // directory (active, not revoked); 'd' gets a refreshed cookie if due.
  bool identify(const Request &req, Identity &out, Decision &d) const;
  // post_response issues a response for the app and answers with the page
  // that POSTs it to the ACS (or a 403 page saying why not).
  void post_response(Decision &d, const config::App &app, const Identity &id,
                     const idp::IssueOptions &opts) const;

  std::int64_t count(std::string_view key, std::int64_t delta, std::int64_t expires) const;

  std::shared_ptr<const config::Config> cfg_;
  std::string metadata_;
  mutable WatchedFile<directory::Directory> directory_;
  mutable std::unique_ptr<WatchedFile<Revocations>> revocations_;
  // [headers] prefix + User, Email, Name, Groups: made once, sent often.
  std::string header_user_, header_email_, header_name_, header_groups_;
  // [headers] jwt_key: prefix + "Jwt", and its tokens.
  std::string header_jwt_;
  std::unique_ptr<IdentityTokens> tokens_;
  // The session cookie's name over http and over https ("__Host-").
  std::string cookie_http_, cookie_https_;
  // Every cookie the gateway sets: left out of the cookies for upstreams.
  std::vector<std::string> own_cookies_;
  mutable SessionCache sessions_;
  CounterAdd counters_;
  // Without a shared store (edgeidp check, tests): per-process counters.
  mutable std::mutex local_mu_;
  mutable std::map<std::string, std::pair<std::int64_t, std::int64_t>, std::less<>> local_;
};

}  // namespace edgeidp::portal
