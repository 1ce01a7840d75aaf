#include "scim/resource.h"

#include <algorithm>

#include <openssl/evp.h>

#include "mapping/template.h"

namespace edgeidp::scim {
namespace {

std::string first(const mapping::Template &t, const mapping::Context &ctx) {
  if (t.source().empty()) {
    return {};
  }
  auto values = t.render(ctx);
  return values.empty() ? std::string() : values.front();
}

bool is_member(const directory::User &user, std::string_view group) {
  return std::binary_search(user.groups.begin(), user.groups.end(), group) ||
         std::find(user.groups.begin(), user.groups.end(), group) != user.groups.end();
}

}  // namespace

bool in_scope(const config::ScimTarget &target, const directory::User &user) {
  if (target.exclude_service_accounts && user.service_account) {
    return false;
  }
  return target.filter_group.empty() || is_member(user, target.filter_group);
}

bool map_user(const config::ScimTarget &target, const directory::Directory &dir,
              const directory::User &user, UserResource &out, std::string &why) {
  const mapping::Context ctx(dir, user);
  const auto &m = target.user;
  const std::string user_name = first(m.user_name, ctx);
  if (user_name.empty()) {
    why = "user " + user.username + ": userName template \"" + m.user_name.source() +
          "\" is empty for this user; AWS requires it";
    return false;
  }
  std::string display = first(m.display_name, ctx);
  if (display.empty()) {
    display = user_name;
  }
  std::string given = first(m.given_name, ctx);
  if (given.empty()) {
    given = display;
  }
  std::string family = first(m.family_name, ctx);
  if (family.empty()) {
    family = " ";
  }
  json body = {
      {"schemas", json::array({kUserSchema})},
      {"userName", user_name},
      {"displayName", display},
      {"name", {{"givenName", given}, {"familyName", family}}},
      {"active", user.active},
  };
  if (const std::string ext = first(m.external_id, ctx); !ext.empty()) {
    body["externalId"] = ext;
  }
  // AWS takes one email and it must be primary; a second value fails the
  // whole request.
  if (const std::string email = first(m.email, ctx); !email.empty()) {
    body["emails"] = json::array({{{"value", email}, {"type", "work"}, {"primary", true}}});
  }
  if (const std::string locale = first(m.locale, ctx); !locale.empty()) {
    body["locale"] = locale;
  }
  out.key = user.uid;
  out.user_name = user_name;
  out.active = user.active;
  out.hash = content_hash(body);
  out.body = std::move(body);
  return true;
}

bool map_group(const config::ScimTarget &target, const directory::Directory &dir,
               const directory::Group &group, GroupResource &out, std::string &why) {
  directory::User pseudo;
  pseudo.username = group.name;
  pseudo.name = group.name;
  pseudo.uid = group.name;
  pseudo.groups = {group.name};
  const mapping::Context ctx(dir, pseudo);
  std::string display = first(target.group_display_name, ctx);
  if (display.empty()) {
    why = "group " + group.name + ": display_name template is empty for this group";
    return false;
  }
  json body = {
      {"schemas", json::array({kGroupSchema})},
      {"displayName", display},
      {"externalId", group.name},
  };
  out.key = group.name;
  out.display_name = display;
  out.hash = content_hash(body);
  out.body = std::move(body);
  return true;
}

Desired build_desired(const config::ScimTarget &target, const directory::Directory &dir) {
  Desired d;
  for (const auto &group : dir.groups()) {
    if (!target.groups.empty() &&
        std::find(target.groups.begin(), target.groups.end(), group.name) == target.groups.end()) {
      continue;
    }
    GroupResource g;
    std::string why;
    if (map_group(target, dir, group, g, why)) {
      d.members[g.key];
      d.groups.emplace(g.key, std::move(g));
    } else {
      d.notes.push_back(why);
    }
  }
  std::set<std::string> user_names;
  for (const auto &user : dir.users()) {
    if (!in_scope(target, user)) {
      continue;
    }
    UserResource u;
    std::string why;
    if (!map_user(target, dir, user, u, why)) {
      d.notes.push_back(why);
      continue;
    }
    if (!user_names.insert(u.user_name).second) {
      d.notes.push_back("user " + user.username + ": userName \"" + u.user_name +
                        "\" is already used by another user; AWS needs it unique");
      continue;
    }
    for (const auto &g : user.groups) {
      if (auto it = d.members.find(g); it != d.members.end()) {
        it->second.insert(u.key);
      }
    }
    d.users.emplace(u.key, std::move(u));
  }
  return d;
}

std::string content_hash(const json &value) {
  const std::string text = to_text(value);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    return text;  // still a faithful identity of the content, just longer
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace edgeidp::scim
