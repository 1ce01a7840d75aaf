#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "saml/signing_key.h"

namespace edgeidp::saml {

struct IdpMetadataInput {
  std::string entity_id;
  std::string sso_url;  // SingleSignOnService for both HTTP-Redirect and HTTP-POST
  std::vector<std::string> name_id_formats;
  std::int64_t valid_until = 0;  // 0: omit validUntil
};

// build_idp_metadata returns an EntityDescriptor with one IDPSSODescriptor
// (signing KeyDescriptor with the certificate, NameIDFormats, SSO services).
// UTF-8, no BOM, as AWS requires.
Result<std::string> build_idp_metadata(const IdpMetadataInput &in, const SigningKey &key);

}  // namespace edgeidp::saml
