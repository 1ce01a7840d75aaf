// What edgeidp last pushed to one SCIM target, in SQLite (WAL): local key ->
// remote id, the hash and body last sent, who created the object, and the
// memberships AWS confirmed (AWS never lists members back, so this table is
// the only record of them). Each confirmed write is stored as soon as its
// response arrives, so a killed worker loses at most the requests in flight,
// which the next run finds again with an eq filter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "scim/handles.h"

namespace edgeidp::scim {

enum class Kind { user, group };

struct ObjectState {
  std::string key;
  std::string remote_id;
  std::string hash;   // of the last body AWS accepted; empty: deprovisioned
  std::string body;   // that body, for readable plan diffs
  bool owned = true;  // created by edgeidp (or adopted by the operator)
  bool deactivated = false;
};

struct Snapshot {
  std::map<std::string, ObjectState> users;
  std::map<std::string, ObjectState> groups;
  std::map<std::string, std::set<std::string>> members;  // group key -> user keys
};

struct RunRecord {
  std::int64_t started = 0;
  std::int64_t finished = 0;  // 0: the run never finished (killed)
  std::string mode;           // "sync"
  std::int64_t writes = 0;
  std::int64_t requests = 0;
  std::int64_t retries = 0;
  std::int64_t throttles = 0;
  std::int64_t failures = 0;
  std::string summary;
};

struct Failure {
  std::int64_t at = 0;
  std::string object;
  std::string message;
};

class State {
 public:
  // open creates the file (mode 0600) and schema if needed.
  static Result<std::unique_ptr<State>> open(const std::string &path, const std::string &target);

  Result<Snapshot> load();
  Status put(Kind kind, const ObjectState &obj);
  Status erase(Kind kind, const std::string &key);
  Status add_members(const std::string &group, const std::vector<std::string> &users);
  Status remove_members(const std::string &group, const std::vector<std::string> &users);

  Result<std::int64_t> begin_run(const RunRecord &run);
  Status finish_run(std::int64_t id, const RunRecord &run);
  Result<std::optional<RunRecord>> last_run();
  Status record_failure(const Failure &f);
  Status clear_failures();
  Result<std::vector<Failure>> failures(int limit);

 private:
  State(Owned<sqlite3> db, std::string target) : db_(std::move(db)), target_(std::move(target)) {}
  Status exec(const char *sql);
  Result<Owned<sqlite3_stmt>> prepare(const char *sql);
  Error sql_error(const char *what) const;
  Status change_members(const std::string &group, const std::vector<std::string> &users, bool add);

  Owned<sqlite3> db_;
  std::string target_;
};

}  // namespace edgeidp::scim
