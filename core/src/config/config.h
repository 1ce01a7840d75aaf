// edgeidp.toml, validated. A Config is immutable once loaded: the web server
// modules share one between all requests and threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/portal_config.h"
#include "config/scim_config.h"
#include "mapping/template.h"

namespace edgeidp::saml {
class SigningKey;
}

namespace edgeidp::config {

enum class Preset { generic, aws_iam, aws_us_gov_iam, aws_identity_center };

const char *preset_name(Preset preset);

struct Attribute {
  std::string name;         // e.g. https://aws.amazon.com/SAML/Attributes/Role
  std::string name_format;  // SAML NameFormat URI
  std::vector<mapping::Template> values;
  bool required = false;  // no value for a user: refuse to issue, say why
  int line = 0;
};

struct App {
  std::string name;          // the [[app]] name, used in URLs and directives
  std::string display_name;  // shown in the launcher
  Preset preset = Preset::generic;
  std::string acs_url;                    // where the Response is POSTed (Destination, Recipient)
  std::string audience;                   // AudienceRestriction
  std::string sp_entity_id;               // SP-initiated: the AuthnRequest Issuer we accept
  std::vector<std::string> acs_urls;      // every ACS a request may name (acs_url first)
  std::vector<std::string> sp_certs_pem;  // verify signed AuthnRequests with these
  bool authn_requests_signed = false;     // the SP metadata says it signs them
  std::string launch_url;                 // launcher link (AWS access portal); empty: IdP-initiated
  std::string name_id_format;
  mapping::Template name_id;
  std::string relay_state;       // IdP-initiated RelayState, may be empty
  std::int64_t validity = 300;   // seconds the assertion is valid
  std::int64_t clock_skew = 30;  // NotBefore is backdated by this much
  bool sign_assertion = true;
  bool sign_response = true;
  std::vector<std::string> groups;  // who may use the app; empty: everyone
  std::vector<Attribute> attributes;
  int line = 0;
};

struct Idp {
  std::string entity_id;
  std::string base_url;  // where the portal is mounted, e.g. https://sso.example.com/idp
  std::string signing_key_file;
  std::string signing_cert_file;
};

struct DirectorySource {
  std::string backend = "file";
  std::string path;
};

struct Config {
  std::string path;  // the file it was loaded from
  Idp idp;
  DirectorySource directory;
  std::vector<App> apps;
  std::vector<ScimTarget> scim;  // [[scim]] push targets (edgeidp scim)
  PortalConfig portal;           // [session], [portal], [headers], [[link]]
  std::shared_ptr<const saml::SigningKey> signing_key;

  const App *find_app(std::string_view name) const;
};

struct LoadOptions {
  std::int64_t now = 0;   // for certificate validity; 0 means the clock
  bool load_keys = true;  // false: check syntax only (e.g. before keygen)
};

// load parses and validates an edgeidp.toml. Relative paths resolve against
// the folder of the file. Errors name the file, line and key.
Result<std::shared_ptr<const Config>> load(const std::string &path, const LoadOptions &opts = {});
Result<std::shared_ptr<const Config>> parse(std::string_view text, const std::string &origin,
                                            const LoadOptions &opts = {});

}  // namespace edgeidp::config
