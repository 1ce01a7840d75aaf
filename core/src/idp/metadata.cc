#include "idp/metadata.h"

#include "saml/metadata.h"
#include "saml/response.h"

namespace edgeidp::idp {

Result<std::string> idp_metadata(const config::Config &cfg) {
  if (!cfg.signing_key) {
    return make_error(Errc::internal, "no signing key loaded");
  }
  saml::IdpMetadataInput in;
  in.entity_id = cfg.idp.entity_id;
  in.sso_url = cfg.idp.base_url + "/sso";
  in.name_id_formats = {saml::kNameIdPersistent, saml::kNameIdEmail, saml::kNameIdTransient,
                        saml::kNameIdUnspecified};
  return saml::build_idp_metadata(in, *cfg.signing_key);
}

}  // namespace edgeidp::idp
