// [[scim]] targets in edgeidp.toml: where `edgeidp scim` pushes users and
// groups (AWS IAM Identity Center automatic provisioning). The bearer token
// lives in its own 0600 file and is read only when a sync runs, so a rotated
// token is picked up without a restart and the config text never holds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/toml.h"
#include "mapping/template.h"

namespace edgeidp {
class TableReader;
}

namespace edgeidp::config {

enum class Deprovision { deactivate, remove };

// How a user becomes a SCIM User. Defaults follow the authentik AWS mapping
// (seed 003): givenName/familyName split from the display name at the first
// space. An empty email or locale is left out rather than sent empty.
struct ScimUserMapping {
  mapping::Template user_name;
  mapping::Template external_id;
  mapping::Template display_name;
  mapping::Template given_name;
  mapping::Template family_name;
  mapping::Template email;
  mapping::Template locale;
};

struct ScimTarget {
  std::string name;
  std::string endpoint;  // base URL without the trailing '/', e.g. .../scim/v2
  std::string token_file;
  std::string ca_file;       // empty: the system trust store
  std::string app;           // the Identity Center [[app]], for the NameID check
  std::string filter_group;  // only members of this group; empty: everyone
  bool exclude_service_accounts = true;
  Deprovision deprovision = Deprovision::deactivate;
  // Objects found on the server (409 or lost state) that edgeidp did not
  // create: when true they count as ours and may be deprovisioned later.
  bool adopt_existing = false;
  std::vector<std::string> groups;  // groups to push; empty: all
  std::string state_file;
  std::int64_t max_in_flight = 8;
  std::int64_t timeout = 30;      // seconds per request
  std::int64_t max_attempts = 6;  // per request, first try included
  std::int64_t reconcile_interval = 3600;
  std::int64_t token_expires = 0;  // unix time; 0: token file mtime + 365 days
  ScimUserMapping user;
  mapping::Template group_display_name;  // "{group.name}" is the group's name
  int line = 0;
};

// read_scim_target reads [[scim]] number 'index'; errors go to 'parent'.
// app_names are the configured [[app]] names, for the app = "..." check.
ScimTarget read_scim_target(const toml::table &table, const std::string &origin, std::size_t index,
                            const std::vector<std::string> &app_names, TableReader &parent);

// read_scim_token reads the target's token file (mode 0600 or 0400 enforced)
// and trims the trailing newline. The error never contains the token.
Result<std::string> read_scim_token(const ScimTarget &target);

}  // namespace edgeidp::config
