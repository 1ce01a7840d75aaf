// What AWS STS and IAM Identity Center accept, as checks. Used when a
// response is issued (a bad value is an error for that user, never a
// silently bad assertion) and by `edgeidp check`.
// Sources: ../shared/reference/aws-interop-facts.md, sections 1.3 and 2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace edgeidp::idp {

inline constexpr std::string_view kAwsAttrPrefix = "https://aws.amazon.com/SAML/Attributes/";
inline constexpr const char *kAwsRole = "https://aws.amazon.com/SAML/Attributes/Role";
inline constexpr const char *kAwsRoleSessionName =
    "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
inline constexpr const char *kAwsSessionDuration =
    "https://aws.amazon.com/SAML/Attributes/SessionDuration";
inline constexpr const char *kAwsSourceIdentity =
    "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
inline constexpr std::string_view kAwsPrincipalTag =
    "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";

// The ARN partition an app's preset implies ("aws", "aws-us-gov"), or empty
// for presets that do not use Role ARNs.
std::string_view aws_partition(config::Preset preset);

// check_aws_attribute validates the rendered values of one attribute named
// name for an app with the given preset. Attributes outside AWS's namespace
// pass. The error says which rule failed and quotes the value.
Status check_aws_attribute(config::Preset preset, std::string_view name,
                           const std::vector<std::string> &values);

// check_role_pair validates "ROLE_ARN,PROVIDER_ARN" (either order).
Status check_role_pair(std::string_view partition, std::string_view value);

// lint_app lists what AWS would reject in an app's settings that do not
// depend on a user: ACS host vs audience vs preset, the IdP entity ID.
std::vector<std::string> lint_app(const config::Config &cfg, const config::App &app);

}  // namespace edgeidp::idp
