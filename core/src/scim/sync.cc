#include "scim/sync.h"

#include <algorithm>

#include "scim/errors.h"

namespace edgeidp::scim {
namespace {

const char *collection(Kind k) {
  return k == Kind::user ? "/Users" : "/Groups";
}
const char *kind_word(Kind k) {
  return k == Kind::user ? "user" : "group";
}

std::string remote_id_of(const std::string &body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("id") && j["id"].is_string()) {
    return j["id"].get<std::string>();
  }
  return {};
}

// The first resource of an eq-filter lookup's ListResponse; without an id,
// 'problem' says what was wrong with the answer.
struct Found {
  std::string id, external_id, problem;
};

Found first_resource(const std::string &body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    return {{}, {}, "its lookup's answer is not JSON"};
  }
  if (!j.is_object() || !j.contains("Resources") || !j["Resources"].is_array()) {
    return {{}, {}, "its lookup's answer is not a SCIM ListResponse (no Resources array)"};
  }
  if (j["Resources"].empty()) {
    return {{}, {}, "an eq filter does not find it"};
  }
  const json &r = j["Resources"][0];
  if (!r.is_object() || !r.contains("id") || !r["id"].is_string() ||
      r["id"].get<std::string>().empty()) {
    return {{}, {}, "its lookup's first resource has no id"};
  }
  std::string ext = r.contains("externalId") && r["externalId"].is_string()
                        ? r["externalId"].get<std::string>()
                        : "";
  return {r["id"].get<std::string>(), std::move(ext), {}};
}

json patch(json ops) {
  return {{"schemas", json::array({kPatchSchema})}, {"Operations", ops}};
}

class Applier {
 public:
  Applier(const config::ScimTarget &target, const Snapshot &snap, Client &client, State &state,
          std::int64_t now_unix, const std::function<void(const std::string &)> &log)
      : target_(target), client_(client), state_(state), now_(now_unix), log_(log) {
    for (const auto &[k, o] : snap.users) {
      user_ids_[k] = o.remote_id;
    }
    for (const auto &[k, o] : snap.groups) {
      group_ids_[k] = o.remote_id;
    }
  }

  SyncReport run(const Plan &plan) {
    for (const auto &c : plan.users) {
      if (c.op == Op::create || c.op == Op::update) {
        upsert(c);
      }
    }
    for (const auto &c : plan.groups) {
      if (c.op == Op::create || c.op == Op::update) {
        upsert(c);
      }
    }
    client_.run();
    for (const auto &m : plan.members) {
      members(m);
    }
    client_.run();
    for (const auto &c : plan.groups) {
      if (c.op == Op::remove) {
        remove(c);
      }
    }
    for (const auto &c : plan.users) {
      if (c.op == Op::remove) {
        remove(c);
      } else if (c.op == Op::deactivate) {
        deactivate(c);
      }
    }
    client_.run();
    return std::move(report_);
  }

 private:
  void fail(const Change &c, const std::string &what) {
    fail(std::string(kind_word(c.kind)) + " " + c.name, what);
  }
  void fail(const std::string &object, const std::string &what) {
    ++report_.counts.failed;
    const std::string line = object + ": " + what;
    report_.errors.push_back(line);
    (void)state_.record_failure({now_, object, what});
    log_(line);
  }
  // A cancelled response means the worker is stopping: nothing is recorded,
  // the next run picks the change up again.
  bool cancelled(const Response &r) {
    if (r.cancelled) {
      report_.interrupted = true;
    }
    return r.cancelled;
  }
  static std::string why(const Response &r) {
    return r.status == 0
               ? "no answer after " + std::to_string(r.attempts) + " attempt(s): " + r.error
               : describe_failure(r.status, r.body);
  }

  void save(const Change &c, const std::string &id, bool owned) {
    ObjectState o;
    o.key = c.key;
    o.remote_id = id;
    o.hash = c.hash;
    o.body = to_text(c.body);
    o.owned = owned;
    (c.kind == Kind::user ? user_ids_ : group_ids_)[c.key] = id;
    if (auto st = state_.put(c.kind, o); !st) {
      fail(c, st.error().message);
    }
  }

  void upsert(const Change &c) {
    if (c.op == Op::update && !c.remote_id.empty()) {
      send_update(c, c.remote_id, c.owned, false);
      return;
    }
    client_.submit({"POST", collection(c.kind), to_text(c.body)}, [this, c](const Response &r) {
      if (cancelled(r)) {
        return;
      }
      if (r.status == 201 || r.status == 200) {
        const std::string id = remote_id_of(r.body);
        if (id.empty()) {
          fail(c, "created, but the answer has no id");
          return;
        }
        ++report_.counts.created;
        save(c, id, true);
      } else if (r.status == 409) {
        adopt(c);
      } else {
        fail(c, why(r));
      }
    });
  }

  // A 409 means the object exists: a previous run was killed before it saved
  // the id, the state was lost, or someone created it by hand. Find it with
  // the one filter AWS supports and take it over instead of duplicating it.
  void adopt(const Change &c) {
    const bool user = c.kind == Kind::user;
    const std::string path = std::string(collection(c.kind)) +
                             eq_filter_query(user ? "userName" : "displayName", c.name);
    client_.submit({"GET", path, {}}, [this, c](const Response &r) {
      if (cancelled(r)) {
        return;
      }
      if (r.status != 200) {
        fail(c, "exists (409) but the lookup failed: " + why(r));
        return;
      }
      const auto [id, ext, problem] = first_resource(r.body);
      if (id.empty()) {
        fail(c, "the server says it exists (409) but " + problem);
        return;
      }
      const std::string ours = c.body.contains("externalId") && c.body["externalId"].is_string()
                                   ? c.body["externalId"].get<std::string>()
                                   : std::string();
      const bool owned = (!ours.empty() && ext == ours) || target_.adopt_existing;
      ++report_.counts.adopted;
      send_update(c, id, owned, true);
    });
  }

  void send_update(const Change &c, const std::string &id, bool owned, bool adopting) {
    const bool user = c.kind == Kind::user;
    Request req;
    if (user) {
      req = {"PUT", "/Users/" + id, to_text(c.body)};  // AWS supports PutUser
    } else {
      // No PutGroup on AWS: only displayName and externalId via PATCH.
      json ops = json::array();
      ops.push_back({{"op", "replace"}, {"path", "displayName"}, {"value", c.body["displayName"]}});
      ops.push_back({{"op", "replace"}, {"path", "externalId"}, {"value", c.body["externalId"]}});
      req = {"PATCH", "/Groups/" + id, to_text(patch(ops))};
    }
    client_.submit(std::move(req), [this, c, id, owned, adopting](const Response &r) {
      if (cancelled(r)) {
        return;
      }
      if (r.status >= 200 && r.status < 300) {
        if (!adopting) {
          ++report_.counts.updated;
        }
        save(c, id, owned);
      } else if (r.status == 404 && !adopting) {
        // Deleted behind our back: create it again.
        Change fresh = c;
        fresh.op = Op::create;
        fresh.remote_id.clear();
        upsert(fresh);
      } else {
        fail(c, why(r));
      }
    });
  }

  void members(const MemberChange &m) {
    const auto git = group_ids_.find(m.group_key);
    if (git == group_ids_.end() || git->second.empty()) {
      return;  // the group could not be created: its failure is already reported
    }
    const std::string group_id = git->second;
    std::vector<std::pair<std::string, bool>> changes;  // user key, add?
    for (const auto &u : m.add) {
      const auto it = user_ids_.find(u);
      if (it != user_ids_.end() && !it->second.empty()) {
        changes.emplace_back(u, true);
      }
    }
    for (const auto &u : m.remove) {
      const auto it = user_ids_.find(u);
      if (it != user_ids_.end() && !it->second.empty()) {
        changes.emplace_back(u, false);
      } else {
        // No remote user any more: nothing to remove on the server.
        (void)state_.remove_members(m.group_key, {u});
      }
    }
    for (std::size_t at = 0; at < changes.size(); at += kMaxMemberOps) {
      const std::size_t end = std::min(changes.size(), at + kMaxMemberOps);
      std::vector<std::string> adds;
      std::vector<std::string> removes;
      json add_values = json::array();
      json remove_values = json::array();
      for (std::size_t i = at; i < end; ++i) {
        const auto &[key, add] = changes[i];
        (add ? adds : removes).push_back(key);
        (add ? add_values : remove_values).push_back({{"value", user_ids_[key]}});
      }
      json ops = json::array();
      if (!add_values.empty()) {
        ops.push_back({{"op", "add"}, {"path", "members"}, {"value", add_values}});
      }
      if (!remove_values.empty()) {
        ops.push_back({{"op", "remove"}, {"path", "members"}, {"value", remove_values}});
      }
      const std::string group_key = m.group_key;
      client_.submit({"PATCH", "/Groups/" + group_id, to_text(patch(ops))},
                     [this, group_key, adds, removes](const Response &r) {
                       if (cancelled(r)) {
                         return;
                       }
                       if (r.status < 200 || r.status >= 300) {
                         fail("group " + group_key + " (members)", why(r));
                         return;
                       }
                       report_.counts.member_adds += static_cast<std::int64_t>(adds.size());
                       report_.counts.member_removes += static_cast<std::int64_t>(removes.size());
                       if (auto st = state_.add_members(group_key, adds); !st) {
                         fail("group " + group_key, st.error().message);
                       }
                       if (auto st = state_.remove_members(group_key, removes); !st) {
                         fail("group " + group_key, st.error().message);
                       }
                     });
    }
  }

  void remove(const Change &c) {
    client_.submit({"DELETE", std::string(collection(c.kind)) + "/" + c.remote_id, {}},
                   [this, c](const Response &r) {
                     if (cancelled(r)) {
                       return;
                     }
                     if ((r.status >= 200 && r.status < 300) || r.status == 404) {
                       ++report_.counts.deleted;
                       if (auto st = state_.erase(c.kind, c.key); !st) {
                         fail(c, st.error().message);
                       }
                     } else {
                       fail(c, why(r));
                     }
                   });
  }

  void deactivate(const Change &c) {
    json ops = json::array({{{"op", "replace"}, {"path", "active"}, {"value", false}}});
    client_.submit({"PATCH", "/Users/" + c.remote_id, to_text(patch(ops))},
                   [this, c](const Response &r) {
                     if (cancelled(r)) {
                       return;
                     }
                     if (r.status >= 200 && r.status < 300) {
                       ++report_.counts.deactivated;
                       ObjectState o;
                       o.key = c.key;
                       o.remote_id = c.remote_id;
                       o.body = c.old_body;
                       o.owned = c.owned;
                       o.deactivated = true;  // hash stays empty: a return means a full update
                       if (auto st = state_.put(Kind::user, o); !st) {
                         fail(c, st.error().message);
                       }
                     } else if (r.status == 404) {
                       (void)state_.erase(Kind::user, c.key);
                     } else {
                       fail(c, why(r));
                     }
                   });
  }

  const config::ScimTarget &target_;
  Client &client_;
  State &state_;
  std::int64_t now_;
  const std::function<void(const std::string &)> &log_;
  std::map<std::string, std::string> user_ids_;
  std::map<std::string, std::string> group_ids_;
  SyncReport report_;
};

}  // namespace

SyncReport apply_plan(const config::ScimTarget &target, const Plan &plan, const Snapshot &snapshot,
                      Client &client, State &state, std::int64_t now_unix,
                      const std::function<void(const std::string &)> &log) {
  Applier a(target, snapshot, client, state, now_unix, log);
  return a.run(plan);
}

std::string summary(const SyncCounts &c) {
  return "created " + std::to_string(c.created) + ", updated " + std::to_string(c.updated) +
         ", deactivated " + std::to_string(c.deactivated) + ", deleted " +
         std::to_string(c.deleted) + ", adopted " + std::to_string(c.adopted) + ", member adds " +
         std::to_string(c.member_adds) + ", member removes " + std::to_string(c.member_removes) +
         ", failed " + std::to_string(c.failed);
}

}  // namespace edgeidp::scim
