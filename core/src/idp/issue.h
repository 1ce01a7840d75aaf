// Issuing a SAML response for one app and one user: access check, mapping
// templates, AWS value rules, then saml::build_response.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/result.h"
#include "config/config.h"
#include "directory/directory.h"
#include "saml/response.h"

namespace edgeidp::idp {

struct IssueOptions {
  std::int64_t now = 0;
  std::int64_t authn_instant = 0;  // when the user logged in; 0: now
  std::string in_response_to;      // SP-initiated: the AuthnRequest ID
  std::string acs_url;             // SP-initiated: a URL already checked; empty: app's
  std::string relay_state;         // IdP-initiated, empty: the app's configured one
};

struct Issued {
  std::string xml;
  std::string base64;       // the SAMLResponse form field
  std::string acs_url;      // where to POST it
  std::string relay_state;  // the RelayState form field, may be empty
};

// may_use is true when the user is active and, if the app names groups, in
// one of them.
bool may_use(const config::App &app, const directory::User &user);

// map_attributes renders the app's attributes for a user and applies the
// AWS rules. An attribute with no value is left out, unless it is required:
// then it is an error that names the attribute and the user.
Result<std::vector<saml::AttributeValues>> map_attributes(const config::App &app,
                                                          const mapping::Context &ctx);

// map_name_id renders the NameID; an empty one is an error.
Result<std::string> map_name_id(const config::App &app, const mapping::Context &ctx);

// issue builds the signed response. Errc::denied when the user may not use
// the app; Errc::invalid when the mapping gives values AWS would refuse;
// Errc::limit when the base64 form exceeds AWS's 100,000 characters.
Result<Issued> issue(const config::Config &cfg, const directory::Directory &dir,
                     const config::App &app, const directory::User &user, const IssueOptions &opts,
                     Random &rng);

}  // namespace edgeidp::idp
