// A service provider's SAML metadata, as AWS IAM Identity Center gives it
// ("Download metadata file"): entity ID, ACS endpoints, NameID formats and,
// if present, the certificate its AuthnRequests are signed with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/owned.h"
#include "common/result.h"

namespace edgeidp::sso {

struct SpMetadata {
  std::string entity_id;
  std::vector<std::string> acs_urls;  // HTTP-POST endpoints; the default first
  std::vector<std::string> name_id_formats;
  bool authn_requests_signed = false;
  std::vector<std::string> signing_certs_pem;  // from KeyDescriptor use="signing"
};

// parse_sp_metadata reads an EntityDescriptor with one SPSSODescriptor.
// Errors say what is missing or unexpected (no DTDs, at most 1 MiB).
Result<SpMetadata> parse_sp_metadata(std::string_view xml);

// load_sp_metadata reads and parses a file; errors name the file.
Result<SpMetadata> load_sp_metadata(const std::string &path);

}  // namespace edgeidp::sso
