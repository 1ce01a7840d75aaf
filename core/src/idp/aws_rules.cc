#include "idp/aws_rules.h"

#include <algorithm>
#include <charconv>

namespace edgeidp::idp {
namespace {

bool session_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

// [\w+=,.@-]{min,max}: RoleSessionName, SourceIdentity, IAM names.
bool session_name(std::string_view v, std::size_t min, std::size_t max) {
  return v.size() >= min && v.size() <= max && std::all_of(v.begin(), v.end(), session_name_char);
}

bool all_digits(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

enum class ArnKind { none, role, provider };

// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME or ...:saml-provider/NAME
ArnKind classify_arn(std::string_view partition, std::string_view arn, std::string &why) {
  const std::string head = "arn:" + std::string(partition) + ":iam::";
  if (arn.substr(0, head.size()) != head) {
    why = "does not start with \"" + head + "\"";
    if (arn.substr(0, 4) == "arn:") {
      why += " (wrong partition for this preset?)";
    }
    return ArnKind::none;
  }
  arn.remove_prefix(head.size());
  const std::size_t colon = arn.find(':');
  if (colon != 12 || !all_digits(arn.substr(0, 12))) {
    why = "account ID must be 12 digits";
    return ArnKind::none;
  }
  const std::string_view resource = arn.substr(13);
  const auto name_ok = [](std::string_view n) {
    return session_name(n, 1, 128);
  };
  if (resource.substr(0, 5) == "role/") {
    std::string_view rest = resource.substr(5);
    const std::size_t slash = rest.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? rest : rest.substr(slash + 1);
    const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(0, slash);
    const bool path_ok = std::all_of(path.begin(), path.end(),
                                     [](char c) { return c == '/' || session_name_char(c); });
    if (!name_ok(name) || !path_ok || name.size() > 64) {
      why = "role name must be 1-64 of letters, digits and _+=,.@-";
      return ArnKind::none;
    }
    return ArnKind::role;
  }
  if (resource.substr(0, 14) == "saml-provider/") {
    if (!name_ok(resource.substr(14))) {
      why = "provider name must be 1-128 of letters, digits and _+=,.@-";
      return ArnKind::none;
    }
    return ArnKind::provider;
  }
  why = "resource must be role/NAME or saml-provider/NAME";
  return ArnKind::none;
}

Error value_error(std::string_view attr, std::string_view value, const std::string &why) {
  return make_error(Errc::invalid,
                    std::string(attr) + " value \"" + std::string(value) + "\": " + why);
}

bool tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
         c == '_' || c == '.' || c == ':' || c == '/' || c == '=' || c == '+' || c == '-' ||
         c == '@';
}

bool host_is(std::string_view url, std::string_view suffix_host, std::string_view path) {
  if (url.substr(0, 8) != "https://") {
    return false;
  }
  url.remove_prefix(8);
  const std::size_t slash = url.find('/');
  const std::string_view host = url.substr(0, slash);
  const std::string_view rest = slash == std::string_view::npos ? "" : url.substr(slash);
  const bool host_ok =
      host == suffix_host || (host.size() > suffix_host.size() + 1 &&
                              host.substr(host.size() - suffix_host.size()) == suffix_host &&
                              host[host.size() - suffix_host.size() - 1] == '.');
  return host_ok && rest.substr(0, path.size()) == path;
}

}  // namespace

std::string_view aws_partition(config::Preset preset) {
  switch (preset) {
    case config::Preset::aws_iam:
      return "aws";
    case config::Preset::aws_us_gov_iam:
      return "aws-us-gov";
    default:
      return {};
  }
}

Status check_role_pair(std::string_view partition, std::string_view value) {
  const std::size_t comma = value.find(',');
  if (comma == std::string_view::npos || value.find(',', comma + 1) != std::string_view::npos) {
    return value_error("Role", value,
                       "expected exactly two ARNs separated by one comma: "
                       "ROLE_ARN,PROVIDER_ARN");
  }
  std::string why;
  const ArnKind a = classify_arn(partition, value.substr(0, comma), why);
  if (a == ArnKind::none) {
    return value_error("Role", value, "first ARN " + why);
  }
  const ArnKind b = classify_arn(partition, value.substr(comma + 1), why);
  if (b == ArnKind::none) {
    return value_error("Role", value, "second ARN " + why);
  }
  if (a == b) {
    return value_error("Role", value, "needs one role ARN and one saml-provider ARN");
  }
  return {};
}

Status check_aws_attribute(config::Preset preset, std::string_view name,
                           const std::vector<std::string> &values) {
  if (name.substr(0, kAwsAttrPrefix.size()) != kAwsAttrPrefix) {
    return {};
  }
  const std::string_view partition = aws_partition(preset);
  if (name == kAwsRole) {
    if (values.empty()) {
      return make_error(Errc::invalid,
                        "no Role value: the user is in no group that grants an "
                        "AWS role");
    }
    for (const auto &v : values) {
      if (auto st = check_role_pair(partition.empty() ? "aws" : partition, v); !st) {
        return st;
      }
    }
    return {};
  }
  const auto single = [&](const char *short_name) -> Status {
    if (values.size() != 1) {
      return make_error(Errc::invalid, std::string(short_name) + " needs exactly one value, got " +
                                           std::to_string(values.size()));
    }
    return {};
  };
  if (name == kAwsRoleSessionName) {
    if (auto st = single("RoleSessionName"); !st) {
      return st;
    }
    if (!session_name(values[0], 2, 64)) {
      return value_error("RoleSessionName", values[0], "must match [\\w+=,.@-]{2,64}");
    }
  } else if (name == kAwsSessionDuration) {
    if (auto st = single("SessionDuration"); !st) {
      return st;
    }
    long n = 0;
    const auto &v = values[0];
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 900 || n > 43200) {
      return value_error("SessionDuration", v, "must be a whole number of seconds, 900 to 43200");
    }
  } else if (name == kAwsSourceIdentity) {
    if (auto st = single("SourceIdentity"); !st) {
      return st;
    }
    if (!session_name(values[0], 2, 64) || values[0].substr(0, 4) == "aws:") {
      return value_error("SourceIdentity", values[0],
                         "must match [\\w+=,.@-]{2,64} and not begin with \"aws:\"");
    }
  } else if (name.substr(0, kAwsPrincipalTag.size()) == kAwsPrincipalTag) {
    const std::string_view key = name.substr(kAwsPrincipalTag.size());
    if (key.empty() || key.size() > 128 || !std::all_of(key.begin(), key.end(), tag_char) ||
        key.substr(0, 4) == "aws:") {
      return make_error(Errc::invalid, "PrincipalTag key \"" + std::string(key) +
                                           "\": 1-128 of letters, digits, space and _.:/=+-@, "
                                           "not beginning with aws:");
    }
    if (auto st = single("PrincipalTag"); !st) {
      return st;
    }
    if (values[0].size() > 256 || !std::all_of(values[0].begin(), values[0].end(), tag_char)) {
      return value_error("PrincipalTag", values[0],
                         "at most 256 of letters, digits, space and _.:/=+-@");
    }
  }
  return {};
}

std::vector<std::string> lint_app(const config::Config &cfg, const config::App &app) {
  std::vector<std::string> out;
  const auto &id = cfg.idp.entity_id;
  if (id.size() > 1024 || std::any_of(id.begin(), id.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20;
      })) {
    out.push_back(
        "idp.entity_id: AWS needs the Issuer to be a URI of at most 1024 characters "
        "with no white space");
  }
  if (app.preset == config::Preset::aws_iam) {
    if (!host_is(app.acs_url, "signin.aws.amazon.com", "/saml")) {
      out.push_back(
          "app " + app.name + ": acs \"" + app.acs_url +
          "\" is not an AWS sign-in endpoint (https://[REGION.]signin.aws.amazon.com/saml)");
    }
    if (app.audience != "urn:amazon:webservices") {
      out.push_back("app " + app.name + ": audience \"" + app.audience +
                    "\" is not urn:amazon:webservices; AWS answers \"Response does not contain "
                    "the required audience\"");
    }
  } else if (app.preset == config::Preset::aws_us_gov_iam) {
    if (!host_is(app.acs_url, "signin.amazonaws-us-gov.com", "/saml")) {
      out.push_back("app " + app.name + ": acs \"" + app.acs_url +
                    "\" is not the GovCloud sign-in endpoint "
                    "(https://signin.amazonaws-us-gov.com/saml)");
    }
    if (app.audience != "urn:amazon:webservices:govcloud") {
      out.push_back("app " + app.name + ": audience \"" + app.audience +
                    "\" is not urn:amazon:webservices:govcloud");
    }
  }
  return out;
}

}  // namespace edgeidp::idp
