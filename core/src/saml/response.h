// Building and signing a SAML 2.0 Response (Web Browser SSO profile, POST
// binding). Knows SAML, not AWS or the directory: idp/ decides the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/result.h"
#include "saml/signing_key.h"

namespace edgeidp::saml {

inline constexpr const char *kNameFormatUri = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
inline constexpr const char *kNameFormatBasic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
inline constexpr const char *kNameIdPersistent =
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
inline constexpr const char *kNameIdTransient =
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
inline constexpr const char *kNameIdEmail =
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
inline constexpr const char *kNameIdUnspecified =
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

// AWS STS refuses a base64 SAMLResponse longer than this (IAM quotas).
inline constexpr std::size_t kAwsMaxResponseBase64 = 100000;

struct AttributeValues {
  std::string name;
  std::string name_format;  // empty: kNameFormatUri
  std::vector<std::string> values;
};

struct ResponseInput {
  std::string issuer;       // IdP entity ID
  std::string destination;  // ACS URL: Response@Destination and Recipient
  std::string audience;     // AudienceRestriction/Audience
  std::string name_id;
  std::string name_id_format;
  std::string in_response_to;  // AuthnRequest ID, empty for IdP-initiated
  std::vector<AttributeValues> attributes;
  std::int64_t now = 0;            // IssueInstant
  std::int64_t validity = 300;     // NotOnOrAfter = now + validity
  std::int64_t clock_skew = 30;    // NotBefore = now - clock_skew
  std::int64_t authn_instant = 0;  // when the user logged in; 0: now
  std::string session_index;       // empty: a random one
  bool sign_assertion = true;
  bool sign_response = true;
};

// build_response returns the serialized, signed Response (UTF-8 XML with
// declaration). Enveloped signatures: exclusive c14n, RSA-SHA256, SHA-256
// digest, the certificate in KeyInfo; the assertion's signature is made
// first, so the response's signature covers it. IDs are fresh random
// values from 'rng'.
Result<std::string> build_response(const ResponseInput &in, const SigningKey &key, Random &rng);

}  // namespace edgeidp::saml
