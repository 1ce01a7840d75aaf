// The settings the web server modules use: sessions, the login portal,
// identity headers and the launcher's links. Read from edgeidp.toml
// ([session], [portal], [headers], [[link]]); see docs/configuration.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/toml_reader.h"
#include "crypto/jws.h"
#include "crypto/sealer.h"

namespace edgeidp::config {

struct SessionSettings {
  std::vector<std::string> key_files;  // first seals, all open
  crypto::Sealer sealer;               // loaded with the keys
  std::int64_t idle_timeout = 3600;
  std::int64_t lifetime = 43200;
  std::string cookie_name = "edgeidp";
  std::string revocations_file;  // optional: "username unix-time" lines
};

struct PortalSettings {
  std::int64_t max_failures_per_user = 5;
  std::int64_t max_failures_per_address = 20;
  std::int64_t failure_window = 300;  // seconds a failure counts
  bool redirect_api_callers = false;  // false: API/XHR callers get 401
  std::string login_template_file;    // optional replacement page
  std::string login_template;         // its text, loaded with the config
  std::int64_t max_body = 16384;      // bytes of a login form
};

struct HeaderSettings {
  std::string prefix = "X-Remote-";  // X-Remote-User, -Email, -Name, -Groups
  // Optional signed identity header (prefix + "Jwt"): an ES256 JWS over
  // the identity, for upstreams that verify rather than trust the network.
  std::string jwt_key_file;
  std::int64_t jwt_lifetime = 60;                       // seconds a token is valid
  std::shared_ptr<const crypto::JwsSigner> jwt_signer;  // loaded with the keys
};

// A protected application shown in the launcher.
struct Link {
  std::string name;
  std::string display_name;
  std::string url;
  std::vector<std::string> groups;  // who sees it; empty: everyone
};

struct PortalConfig {
  bool present = false;  // a [session] table was given
  SessionSettings session;
  PortalSettings portal;
  HeaderSettings headers;
  std::vector<Link> links;
};

// read_portal_config reads the four sections from the root table. With
// load_keys, session keys and the login template are read from their files.
void read_portal_config(TableReader &top, const std::string &origin, bool load_keys,
                        PortalConfig &out);

}  // namespace edgeidp::config
