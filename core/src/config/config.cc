#include "config/config.h"

#include <algorithm>
#include <ctime>

#include "common/file.h"
#include "common/toml_reader.h"
#include "saml/response.h"
#include "saml/signing_key.h"
#include "sso/sp_metadata.h"

namespace edgeidp::config {
namespace {

constexpr std::size_t kMaxConfigBytes = 4u << 20;
constexpr const char *kAwsRole = "https://aws.amazon.com/SAML/Attributes/Role";
constexpr const char *kAwsRoleSessionName =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";

struct PresetDefaults {
  Preset preset;
  const char *name;
  const char *acs;
  const char *audience;
};

constexpr PresetDefaults kPresets[] = {
    {Preset::generic, "generic", "", ""},
    {Preset::aws_iam, "aws-iam", "https://signin.aws.amazon.com/saml", "urn:amazon:webservices"},
    {Preset::aws_us_gov_iam, "aws-us-gov-iam", "https://signin.amazonaws-us-gov.com/saml",
     "urn:amazon:webservices:govcloud"},
    // ACS and audience come from the SP metadata AWS gives you.
    {Preset::aws_identity_center, "aws-identity-center", "", ""},
};

bool is_http_url(std::string_view s, bool https_only) {
  const bool https = s.substr(0, 8) == "https://" && s.size() > 8;
  const bool http = s.substr(0, 7) == "http://" && s.size() > 7;
  return (https || (http && !https_only)) && std::none_of(s.begin(), s.end(), [](char c) {
           return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '<' || c == '>' ||
                  c == 0x7f;
         });
}

bool valid_app_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::string name_id_format_uri(std::string_view v) {
  if (v == "persistent") {
    return saml::kNameIdPersistent;
  }
  if (v == "transient") {
    return saml::kNameIdTransient;
  }
  if (v == "email" || v == "emailAddress") {
    return saml::kNameIdEmail;
  }
  if (v == "unspecified") {
    return saml::kNameIdUnspecified;
  }
  if (v.substr(0, 4) == "urn:") {
    return std::string(v);
  }
  return {};
}

mapping::Template parse_template(TableReader &r, std::string_view key, const std::string &text) {
  auto t = mapping::Template::parse(text);
  if (!t) {
    r.fail(key, t.error().message);
    return {};
  }
  return std::move(*t);
}

Attribute read_attribute(const toml::table &tbl, const std::string &origin, const std::string &path,
                         TableReader &parent) {
  TableReader r(tbl, origin, path);
  Attribute a;
  a.line = r.line();
  a.name = r.str("name", true);
  const std::string format = r.str("name_format", false, "uri");
  if (format == "uri") {
    a.name_format = saml::kNameFormatUri;
  } else if (format == "basic") {
    a.name_format = saml::kNameFormatBasic;
  } else if (format == "unspecified") {
    a.name_format = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";
  } else {
    r.fail("name_format", "expected \"uri\", \"basic\" or \"unspecified\"");
  }
  const toml::node *one = r.node("value");
  const toml::node *many = r.node("values");
  if ((one != nullptr) == (many != nullptr)) {
    r.fail("value", "give exactly one of value = \"template\" or values = [\"template\", ...]");
  } else if (one != nullptr) {
    if (const auto *s = one->as_string()) {
      a.values.push_back(parse_template(r, "value", s->get()));
    } else {
      r.fail("value", std::string("expected a string, found ") + toml_type_name(*one));
    }
  } else if (const auto *arr = many->as_array()) {
    for (const auto &item : *arr) {
      if (const auto *s = item.as_string()) {
        a.values.push_back(parse_template(r, "values", s->get()));
      } else {
        r.fail("values", "expected an array of strings");
      }
    }
    if (arr->empty()) {
      r.fail("values", "must not be empty");
    }
  } else {
    r.fail("values", std::string("expected an array of strings, found ") + toml_type_name(*many));
  }
  a.required = r.boolean("required", a.name == kAwsRole || a.name == kAwsRoleSessionName);
  r.finish();
  parent.adopt(r);
  return a;
}

App read_app(const toml::table &tbl, const std::string &origin, std::size_t index,
             TableReader &parent) {
  const std::string path = "app[" + std::to_string(index) + "]";
  TableReader r(tbl, origin, path);
  App app;
  app.line = r.line();
  app.name = r.str("name", true);
  if (r.ok() && !valid_app_name(app.name)) {
    r.fail("name", "expected 1 to 64 of a-z, 0-9, '-' or '_' (it appears in URLs)");
  }
  app.display_name = r.str("display_name", false, app.name);
  const std::string preset = r.str("preset", false, "generic");
  const PresetDefaults *defaults = nullptr;
  for (const auto &p : kPresets) {
    if (preset == p.name) {
      defaults = &p;
    }
  }
  if (defaults == nullptr) {
    r.fail("preset", "unknown preset \"" + preset +
                         "\"; expected \"aws-iam\", \"aws-us-gov-iam\", \"aws-identity-center\" "
                         "or \"generic\"");
    defaults = &kPresets[0];
  }
  app.preset = defaults->preset;
  const bool idc = app.preset == Preset::aws_identity_center;
  // SP metadata (Identity Center's "Download metadata file"): entity ID,
  // ACS endpoints and, if any, the key its AuthnRequests are signed with.
  const std::string md_file = r.str("sp_metadata", idc);
  if (r.ok() && !md_file.empty()) {
    auto md = sso::load_sp_metadata(resolve_path(origin, md_file));
    if (!md) {
      r.fail("sp_metadata", md.error().message);
    } else {
      app.sp_entity_id = md->entity_id;
      app.acs_urls = md->acs_urls;
      app.sp_certs_pem = md->signing_certs_pem;
      app.authn_requests_signed = md->authn_requests_signed;
    }
  }
  const bool from_md = !app.sp_entity_id.empty();
  app.acs_url = r.str("acs", app.preset == Preset::generic && !from_md,
                      from_md ? app.acs_urls.front() : defaults->acs);
  if (r.ok() && !is_http_url(app.acs_url, app.preset != Preset::generic)) {
    r.fail("acs", "expected an absolute https:// URL, found \"" + app.acs_url + "\"");
  }
  if (std::find(app.acs_urls.begin(), app.acs_urls.end(), app.acs_url) == app.acs_urls.end()) {
    app.acs_urls.insert(app.acs_urls.begin(), app.acs_url);
  }
  // "Copy the Issuer URL to the Audience field" (seed 000): the SP's
  // entity ID is the audience.
  app.audience = r.str("audience", app.preset == Preset::generic && !from_md,
                       from_md ? app.sp_entity_id : defaults->audience);
  // Identity Center matches the NameID against the SCIM userName, in
  // emailAddress format (aws-interop-facts.md, section 2).
  const std::string format = r.str("name_id_format", false, idc ? "email" : "persistent");
  app.name_id_format = name_id_format_uri(format);
  if (app.name_id_format.empty()) {
    r.fail("name_id_format", "expected persistent, transient, email, unspecified or a urn: URI");
  }
  app.name_id =
      parse_template(r, "name_id", r.str("name_id", false, idc ? "{user.username}" : "{user.uid}"));
  app.launch_url = r.str("launch_url");
  if (r.ok() && !app.launch_url.empty() && !is_http_url(app.launch_url, true)) {
    r.fail("launch_url", "expected an absolute https:// URL (the AWS access portal URL)");
  }
  app.relay_state = r.str("relay_state");
  app.validity = r.integer("validity", 300, 30, 3600);
  app.clock_skew = r.integer("clock_skew", 30, 0, 300);
  app.sign_assertion = r.boolean("sign_assertion", true);
  app.sign_response = r.boolean("sign_response", true);
  if (r.ok() && !app.sign_assertion && !app.sign_response) {
    r.fail("sign_response", "at least one of sign_assertion and sign_response must be true");
  }
  app.groups = r.str_list("groups");
  const auto attrs = r.tables("attribute");
  for (std::size_t i = 0; i < attrs.size() && r.ok(); ++i) {
    app.attributes.push_back(
        read_attribute(*attrs[i], origin, path + ".attribute[" + std::to_string(i) + "]", r));
  }
  const bool aws = app.preset == Preset::aws_iam || app.preset == Preset::aws_us_gov_iam;
  if (r.ok() && aws) {
    const auto has = [&](const char *name) {
      return std::any_of(app.attributes.begin(), app.attributes.end(),
                         [&](const Attribute &a) { return a.name == name; });
    };
    if (!has(kAwsRole)) {
      r.fail("attribute", std::string("an AWS app needs an [[app.attribute]] named ") + kAwsRole +
                              " (value: \"ROLE_ARN,PROVIDER_ARN\")");
    }
    if (!has(kAwsRoleSessionName)) {
      // AWS requires it; the username is what operators pick (seed 000).
      Attribute a;
      a.name = kAwsRoleSessionName;
      a.name_format = saml::kNameFormatUri;
      a.values.push_back(*mapping::Template::parse("{user.username}"));
      a.required = true;
      a.line = app.line;
      app.attributes.push_back(std::move(a));
    }
  }
  r.finish();
  parent.adopt(r);
  return app;
}

}  // namespace

const char *preset_name(Preset preset) {
  for (const auto &p : kPresets) {
    if (p.preset == preset) {
      return p.name;
    }
  }
  return "unknown";
}

const App *Config::find_app(std::string_view name) const {
  for (const auto &a : apps) {
    if (a.name == name) {
      return &a;
    }
  }
  return nullptr;
}

Result<std::shared_ptr<const Config>> load(const std::string &path, const LoadOptions &opts) {
  auto text = read_file(path, kMaxConfigBytes);
  if (!text) {
    return text.take_error();
  }
  return parse(*text, path, opts);
}

Result<std::shared_ptr<const Config>> parse(std::string_view text, const std::string &origin,
                                            const LoadOptions &opts) {
  auto root = parse_toml(text, origin);
  if (!root) {
    return root.take_error();
  }
  auto cfg = std::make_shared<Config>();
  cfg->path = origin;
  TableReader top(*root, origin, "");

  if (const toml::table *t = top.table("idp", true)) {
    TableReader r(*t, origin, "idp");
    cfg->idp.entity_id = r.str("entity_id", true);
    cfg->idp.base_url = r.str("base_url", true);
    if (r.ok() && !is_http_url(cfg->idp.base_url, false)) {
      r.fail("base_url",
             "expected an absolute http:// or https:// URL, found \"" + cfg->idp.base_url + "\"");
    }
    while (!cfg->idp.base_url.empty() && cfg->idp.base_url.back() == '/') {
      cfg->idp.base_url.pop_back();
    }
    cfg->idp.signing_key_file = resolve_path(origin, r.str("signing_key", true));
    cfg->idp.signing_cert_file = resolve_path(origin, r.str("signing_cert", true));
    r.finish();
    top.adopt(r);
  }
  if (const toml::table *t = top.table("directory", true)) {
    TableReader r(*t, origin, "directory");
    cfg->directory.backend = r.str("backend", false, "file");
    if (cfg->directory.backend != "file") {
      r.fail("backend", "unknown backend \"" + cfg->directory.backend + "\"; expected \"file\"");
    }
    cfg->directory.path = resolve_path(origin, r.str("path", true));
    r.finish();
    top.adopt(r);
  }
  const auto apps = top.tables("app");
  for (std::size_t i = 0; i < apps.size() && top.ok(); ++i) {
    App app = read_app(*apps[i], origin, i, top);
    if (top.ok() && cfg->find_app(app.name) != nullptr) {
      top.adopt(config_error(origin, app.line, "app[" + std::to_string(i) + "].name",
                             "duplicate app name \"" + app.name + "\""));
    }
    cfg->apps.push_back(std::move(app));
  }
  {
    std::vector<std::string> app_names;
    for (const auto &a : cfg->apps) {
      app_names.push_back(a.name);
    }
    const auto targets = top.tables("scim");
    for (std::size_t i = 0; i < targets.size() && top.ok(); ++i) {
      ScimTarget t = read_scim_target(*targets[i], origin, i, app_names, top);
      for (const auto &other : cfg->scim) {
        if (top.ok() && other.name == t.name) {
          top.adopt(config_error(origin, t.line, "scim[" + std::to_string(i) + "].name",
                                 "duplicate scim target name \"" + t.name + "\""));
        }
      }
      cfg->scim.push_back(std::move(t));
    }
  }
  read_portal_config(top, origin, opts.load_keys, cfg->portal);
  top.finish();
  if (!top.ok()) {
    return *top.error();
  }

  if (opts.load_keys) {
    const std::int64_t now =
        opts.now != 0 ? opts.now : static_cast<std::int64_t>(std::time(nullptr));
    auto key = saml::SigningKey::load(cfg->idp.signing_key_file, cfg->idp.signing_cert_file, now);
    if (!key) {
      Error e = key.take_error();
      e.file = origin;
      e.line = static_cast<int>(root->get("idp")->source().begin.line);
      e.key = "idp.signing_key";
      return e;
    }
    cfg->signing_key = std::move(*key);
  }
  return std::shared_ptr<const Config>(std::move(cfg));
}

}  // namespace edgeidp::config
