#pragma once

#include <string>

#include "common/result.h"
#include "config/config.h"

namespace edgeidp::idp {

// idp_metadata is this IdP's SAML metadata: entity ID, signing
// certificate, NameID formats, and the SSO endpoint [idp].base_url + "/sso"
// for both bindings. What `edgeidp metadata` prints and the portal serves.
Result<std::string> idp_metadata(const config::Config &cfg);

}  // namespace edgeidp::idp
