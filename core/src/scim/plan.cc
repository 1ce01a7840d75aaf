#include "scim/plan.h"

#include <algorithm>

namespace edgeidp::scim {
namespace {

// Flattens {"name":{"givenName":..}} to "name.givenName" for a readable diff.
void flatten(const json &j, const std::string &prefix, std::map<std::string, std::string> &out) {
  if (j.is_object()) {
    for (const auto &[k, v] : j.items()) {
      if (k != "schemas") {
        flatten(v, prefix.empty() ? k : prefix + "." + k, out);
      }
    }
  } else if (j.is_array() && j.size() == 1 && j[0].is_object() && j[0].contains("value")) {
    flatten(j[0]["value"], prefix, out);  // the single primary email
  } else {
    out[prefix] = to_text(j);
  }
}

std::string field_diff(const std::string &old_body, const json &new_body) {
  std::map<std::string, std::string> before;
  std::map<std::string, std::string> after;
  const json old_json = json::parse(old_body, nullptr, false);
  if (!old_json.is_discarded()) {
    flatten(old_json, "", before);
  }
  flatten(new_body, "", after);
  std::string out;
  for (const auto &[k, v] : after) {
    const auto it = before.find(k);
    if (it == before.end()) {
      out += "      " + k + ": (none) -> " + v + "\n";
    } else if (it->second != v) {
      out += "      " + k + ": " + it->second + " -> " + v + "\n";
    }
  }
  for (const auto &[k, v] : before) {
    if (after.find(k) == after.end()) {
      out += "      " + k + ": " + v + " -> (none)\n";
    }
  }
  return out;
}

std::string name_of(const ObjectState &o, const char *field) {
  const json j = json::parse(o.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains(field) && j[field].is_string()) {
    return j[field].get<std::string>();
  }
  return o.key;
}

}  // namespace

const char *op_name(Op op) {
  switch (op) {
    case Op::create:
      return "create";
    case Op::update:
      return "update";
    case Op::deactivate:
      return "deactivate";
    case Op::remove:
      return "delete";
  }
  return "?";
}

std::size_t Plan::min_requests() const {
  std::size_t n = users.size() + groups.size();
  for (const auto &m : members) {
    n += (m.add.size() + m.remove.size() + kMaxMemberOps - 1) / kMaxMemberOps;
  }
  return n;
}

Plan make_plan(const config::ScimTarget &target, const Desired &desired, const Snapshot &state) {
  Plan plan;
  plan.notes = desired.notes;
  // Users that exist (or will) on the server: membership only refers to them.
  std::set<std::string> present;
  for (const auto &[key, u] : desired.users) {
    const auto it = state.users.find(key);
    if (it == state.users.end()) {
      if (!u.active) {
        continue;  // never pushed and inactive: nothing to create
      }
      plan.users.push_back(
          {Op::create, Kind::user, key, u.user_name, u.body, u.hash, {}, {}, true});
    } else if (it->second.hash != u.hash) {
      plan.users.push_back({Op::update, Kind::user, key, u.user_name, u.body, u.hash,
                            it->second.remote_id, it->second.body, it->second.owned});
    }
    present.insert(key);
  }
  for (const auto &[key, o] : state.users) {
    if (desired.users.count(key) != 0 || o.deactivated) {
      continue;
    }
    const std::string name = name_of(o, "userName");
    if (!o.owned && !target.adopt_existing) {
      plan.notes.push_back("user " + name +
                           ": not created by edgeidp, left alone (set adopt_existing to manage)");
      continue;
    }
    const Op op = target.deprovision == config::Deprovision::remove ? Op::remove : Op::deactivate;
    plan.users.push_back({op, Kind::user, key, name, {}, {}, o.remote_id, o.body, o.owned});
  }

  for (const auto &[key, g] : desired.groups) {
    const auto it = state.groups.find(key);
    if (it == state.groups.end()) {
      plan.groups.push_back(
          {Op::create, Kind::group, key, g.display_name, g.body, g.hash, {}, {}, true});
    } else if (it->second.hash != g.hash) {
      plan.groups.push_back({Op::update, Kind::group, key, g.display_name, g.body, g.hash,
                             it->second.remote_id, it->second.body, it->second.owned});
    }
  }
  for (const auto &[key, o] : state.groups) {
    if (desired.groups.count(key) != 0) {
      continue;
    }
    const std::string name = name_of(o, "displayName");
    if (!o.owned && !target.adopt_existing) {
      plan.notes.push_back("group " + name +
                           ": not created by edgeidp, left alone (set adopt_existing to manage)");
      continue;
    }
    plan.groups.push_back(
        {Op::remove, Kind::group, key, name, {}, {}, o.remote_id, o.body, o.owned});
  }

  static const std::set<std::string> kNone;
  for (const auto &[group, want_all] : desired.members) {
    const auto have_it = state.members.find(group);
    const std::set<std::string> &have = have_it != state.members.end() ? have_it->second : kNone;
    MemberChange mc;
    mc.group_key = group;
    for (const auto &u : want_all) {
      if (present.count(u) != 0 && have.count(u) == 0) {
        mc.add.push_back(u);
      }
    }
    for (const auto &u : have) {
      if (want_all.count(u) == 0 || present.count(u) == 0) {
        mc.remove.push_back(u);
      }
    }
    if (!mc.add.empty() || !mc.remove.empty()) {
      plan.members.push_back(std::move(mc));
    }
  }
  return plan;
}

std::string format_plan(const Plan &plan, const Desired &desired, const Snapshot &state) {
  std::string out;
  const auto user_name = [&](const std::string &key) {
    if (auto it = desired.users.find(key); it != desired.users.end()) {
      return it->second.user_name;
    }
    if (auto it = state.users.find(key); it != state.users.end()) {
      return name_of(it->second, "userName");
    }
    return key;
  };
  for (const auto *list : {&plan.users, &plan.groups}) {
    for (const auto &c : *list) {
      const char *kind = c.kind == Kind::user ? "user" : "group";
      switch (c.op) {
        case Op::create:
          out += "+ " + std::string(kind) + " " + c.name + " (create)\n";
          out += field_diff("{}", c.body);
          break;
        case Op::update:
          out += "~ " + std::string(kind) + " " + c.name + " (update)\n";
          out += field_diff(c.old_body, c.body);
          break;
        case Op::deactivate:
        case Op::remove:
          out += "- " + std::string(kind) + " " + c.name + " (" + op_name(c.op) + ")\n";
          break;
      }
    }
  }
  for (const auto &m : plan.members) {
    std::string display = m.group_key;
    if (auto it = desired.groups.find(m.group_key); it != desired.groups.end()) {
      display = it->second.display_name;
    }
    out += "~ group " + display + " (members)\n";
    for (const auto &u : m.add) {
      out += "      + " + user_name(u) + "\n";
    }
    for (const auto &u : m.remove) {
      out += "      - " + user_name(u) + "\n";
    }
  }
  for (const auto &n : plan.notes) {
    out += "# " + n + "\n";
  }
  return out;
}

}  // namespace edgeidp::scim
