#include "idp/issue.h"

#include <algorithm>

#include "common/strings.h"
#include "idp/aws_rules.h"
#include "saml/signing_key.h"

namespace edgeidp::idp {
namespace {

Error for_user(const directory::User &user, const config::App &app, Errc code,
               const std::string &message) {
  return make_error(code, "app " + app.name + ", user " + user.username + ": " + message);
}

// RFC 2822 addr-spec, loosely: one '@', something on both sides, no space.
bool looks_like_email(const std::string &v) {
  const auto at = v.find('@');
  return at != std::string::npos && at > 0 && at + 1 < v.size() &&
         v.find('@', at + 1) == std::string::npos && std::none_of(v.begin(), v.end(), [](char c) {
           return static_cast<unsigned char>(c) <= 0x20;
         });
}

}  // namespace

bool may_use(const config::App &app, const directory::User &user) {
  if (!user.active) {
    return false;
  }
  if (app.groups.empty()) {
    return true;
  }
  return std::any_of(app.groups.begin(), app.groups.end(), [&](const std::string &g) {
    return std::binary_search(user.groups.begin(), user.groups.end(), g);
  });
}

Result<std::vector<saml::AttributeValues>> map_attributes(const config::App &app,
                                                          const mapping::Context &ctx) {
  std::vector<saml::AttributeValues> out;
  for (const auto &attr : app.attributes) {
    saml::AttributeValues av{attr.name, attr.name_format, {}};
    for (const auto &t : attr.values) {
      for (auto &v : t.render(ctx)) {
        if (std::find(av.values.begin(), av.values.end(), v) == av.values.end()) {
          av.values.push_back(std::move(v));
        }
      }
    }
    if (av.values.empty() && !attr.required) {
      continue;
    }
    if (av.values.empty()) {
      // Errc::not_found: the user lacks data (e.g. no group grants a role),
      // as opposed to a mapping that renders values AWS refuses.
      return for_user(ctx.user, app, Errc::not_found,
                      "required attribute " + attr.name + " has no value" +
                          (attr.name == kAwsRole ? " (the user is in no group that grants an "
                                                   "AWS role)"
                                                 : ""));
    }
    if (auto st = check_aws_attribute(app.preset, attr.name, av.values); !st) {
      return for_user(ctx.user, app, Errc::invalid, st.error().message);
    }
    for (const auto &v : av.values) {
      if (!is_valid_utf8(v)) {
        return for_user(ctx.user, app, Errc::invalid, attr.name + ": value is not valid UTF-8");
      }
    }
    out.push_back(std::move(av));
  }
  return out;
}

Result<std::string> map_name_id(const config::App &app, const mapping::Context &ctx) {
  auto values = app.name_id.render(ctx);
  if (values.size() != 1 || values[0].empty()) {
    return for_user(ctx.user, app, Errc::invalid,
                    "name_id \"" + app.name_id.source() + "\" gives no single value");
  }
  if (app.name_id_format == saml::kNameIdEmail && !looks_like_email(values[0])) {
    // Identity Center refuses the sign-in ("invalid name id policy format").
    return for_user(ctx.user, app, Errc::invalid,
                    "NameID \"" + values[0] +
                        "\" is not an email address (name@domain), which the emailAddress "
                        "format requires; AWS IAM Identity Center matches it against the SCIM "
                        "userName");
  }
  return std::move(values[0]);
}

Result<Issued> issue(const config::Config &cfg, const directory::Directory &dir,
                     const config::App &app, const directory::User &user, const IssueOptions &opts,
                     Random &rng) {
  if (!user.active) {
    return for_user(user, app, Errc::denied, "user is inactive");
  }
  if (!may_use(app, user)) {
    return for_user(user, app, Errc::denied, "user is in none of the app's groups");
  }
  if (!cfg.signing_key) {
    return make_error(Errc::internal, "no signing key loaded");
  }
  const mapping::Context ctx(dir, user);
  auto attrs = map_attributes(app, ctx);
  if (!attrs) {
    return attrs.take_error();
  }
  auto name_id = map_name_id(app, ctx);
  if (!name_id) {
    return name_id.take_error();
  }
  saml::ResponseInput in;
  in.issuer = cfg.idp.entity_id;
  in.destination = opts.acs_url.empty() ? app.acs_url : opts.acs_url;
  in.audience = app.audience;
  in.name_id = std::move(*name_id);
  in.name_id_format = app.name_id_format;
  in.in_response_to = opts.in_response_to;
  in.attributes = std::move(*attrs);
  in.now = opts.now;
  in.validity = app.validity;
  in.clock_skew = app.clock_skew;
  in.authn_instant = opts.authn_instant != 0 ? opts.authn_instant : opts.now;
  in.sign_assertion = app.sign_assertion;
  in.sign_response = app.sign_response;
  auto xml = saml::build_response(in, *cfg.signing_key, rng);
  if (!xml) {
    return xml.take_error();
  }
  Issued out;
  out.base64 = base64_encode(*xml);
  if (out.base64.size() > saml::kAwsMaxResponseBase64) {
    return for_user(user, app, Errc::limit,
                    "the response is " + std::to_string(out.base64.size()) +
                        " base64 characters; AWS accepts at most 100000 (too many roles or "
                        "attributes?)");
  }
  out.xml = std::move(*xml);
  out.acs_url = in.destination;
  // SP-initiated: echo the request's RelayState, even an empty one.
  out.relay_state =
      opts.relay_state.empty() && opts.in_response_to.empty() ? app.relay_state : opts.relay_state;
  return out;
}

}  // namespace edgeidp::idp
