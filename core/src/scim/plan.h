// The difference between what edgeidp wants (Desired) and what it last pushed
// (Snapshot): the only input to both `scim plan` and `scim sync`, so what the
// operator reviews is exactly what is sent.
#pragma once

#include <string>
#include <vector>

#include "config/scim_config.h"
#include "scim/resource.h"
#include "scim/state.h"

namespace edgeidp::scim {

enum class Op { create, update, deactivate, remove };

const char *op_name(Op op);

struct Change {
  Op op = Op::create;
  Kind kind = Kind::user;
  std::string key;
  std::string name;       // userName or displayName, for messages and eq filters
  json body;              // create/update: what to send
  std::string hash;       // of body
  std::string remote_id;  // update/deactivate/remove: the SCIM id
  std::string old_body;   // update: what was last sent, for the diff
  bool owned = true;
};

struct MemberChange {
  std::string group_key;
  std::vector<std::string> add;     // user keys
  std::vector<std::string> remove;  // user keys
};

struct Plan {
  std::vector<Change> users;
  std::vector<Change> groups;
  std::vector<MemberChange> members;
  std::vector<std::string> notes;  // left out or left alone, and why

  bool empty() const { return users.empty() && groups.empty() && members.empty(); }
  // writes: how many requests the plan needs at least (member changes in
  // batches of kMaxMemberOps).
  std::size_t min_requests() const;
};

// AWS refuses more than 100 membership changes in one PatchGroup.
inline constexpr std::size_t kMaxMemberOps = 100;

// make_plan never deletes or deactivates an object that edgeidp neither
// created nor was told to adopt: those become notes.
Plan make_plan(const config::ScimTarget &target, const Desired &desired, const Snapshot &state);

// format_plan: one block per object, "+" create, "~" update (with the fields
// that change, old -> new), "-" delete or deactivate, then memberships.
std::string format_plan(const Plan &plan, const Desired &desired, const Snapshot &state);

}  // namespace edgeidp::scim
