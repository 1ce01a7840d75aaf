// Applies a Plan through a Client and records every confirmed change in the
// State as its response arrives. Order follows what AWS needs: users and
// groups first (members refer to their ids), then membership, then
// deletions. A request that keeps failing is recorded and the rest goes on;
// the next run retries it, because its state was never updated.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/scim_config.h"
#include "scim/client.h"
#include "scim/plan.h"
#include "scim/state.h"

namespace edgeidp::scim {

struct SyncCounts {
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t deactivated = 0;
  std::int64_t deleted = 0;
  std::int64_t adopted = 0;  // found with an eq filter after a 409
  std::int64_t member_adds = 0;
  std::int64_t member_removes = 0;
  std::int64_t failed = 0;
};

struct SyncReport {
  SyncCounts counts;
  std::vector<std::string> errors;  // one per failed object, safe to log
  bool interrupted = false;
};

// apply_plan runs 'plan' against the server. 'log' receives one line per
// failure (never the token: only status, SCIM detail and the object).
SyncReport apply_plan(const config::ScimTarget &target, const Plan &plan, const Snapshot &snapshot,
                      Client &client, State &state, std::int64_t now_unix,
                      const std::function<void(const std::string &)> &log);

// summary: "created 3, updated 1, ..." for logs and the status table.
std::string summary(const SyncCounts &c);

}  // namespace edgeidp::scim
