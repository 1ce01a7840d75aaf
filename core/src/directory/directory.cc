#include "directory/directory.h"

#include <algorithm>

#include <openssl/sha.h>

#include "common/file.h"
#include "common/strings.h"
#include "common/toml_reader.h"

namespace edgeidp::directory {
namespace {

constexpr std::size_t kMaxDirectoryBytes = 64u << 20;

// Names end up in HTTP headers, cookies and XML: no control characters.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

void read_attributes(TableReader &r, Attributes &out) {
  const toml::table *t = r.table("attributes");
  if (t == nullptr) {
    return;
  }
  for (const auto &[k, v] : *t) {
    const std::string key(k.str());
    if (const auto *s = v.as_string()) {
      out[key] = s->get();
    } else if (const auto *i = v.as_integer()) {
      out[key] = std::to_string(i->get());
    } else if (const auto *b = v.as_boolean()) {
      out[key] = b->get() ? "true" : "false";
    } else {
      r.fail("attributes", "attribute \"" + key +
                               "\": expected a string, integer or boolean, found " +
                               toml_type_name(v));
    }
  }
}

std::string default_uid(const std::string &username) {
  const std::string input = "edgeidp-user:" + username;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char *>(input.data()), input.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<const char *>(digest), sizeof digest));
}

}  // namespace

Result<std::shared_ptr<const Directory>> Directory::load(const std::string &path) {
  auto text = read_file(path, kMaxDirectoryBytes);
  if (!text) {
    return text.take_error();
  }
  return parse(*text, path);
}

Result<std::shared_ptr<const Directory>> Directory::parse(std::string_view text,
                                                          const std::string &origin) {
  auto root = parse_toml(text, origin);
  if (!root) {
    return root.take_error();
  }
  auto dir = std::make_shared<Directory>();
  TableReader top(*root, origin, "");

  const auto group_tables = top.tables("group");
  for (std::size_t i = 0; i < group_tables.size() && top.ok(); ++i) {
    TableReader r(*group_tables[i], origin, "group[" + std::to_string(i) + "]");
    Group g;
    g.name = r.str("name", true);
    if (has_control(g.name)) {
      r.fail("name", "must not contain control characters");
    }
    read_attributes(r, g.attributes);
    r.finish();
    top.adopt(r);
    dir->groups_.push_back(std::move(g));
  }

  const auto user_tables = top.tables("user");
  std::vector<int> user_lines;
  for (std::size_t i = 0; i < user_tables.size() && top.ok(); ++i) {
    TableReader r(*user_tables[i], origin, "user[" + std::to_string(i) + "]");
    User u;
    u.username = r.str("username", true);
    u.name = r.str("name", false, u.username);
    u.email = r.str("email");
    u.uid = r.str("uid");
    u.password_hash = r.str("password");
    u.active = r.boolean("active", true);
    u.service_account = r.boolean("service_account", false);
    u.groups = r.str_list("groups");
    read_attributes(r, u.attributes);
    const std::pair<const char *, const std::string *> checked[] = {
        {"username", &u.username}, {"name", &u.name}, {"email", &u.email}, {"uid", &u.uid}};
    for (const auto &[field, value] : checked) {
      if (has_control(*value)) {
        r.fail(field, "must not contain control characters");
      } else if (!is_valid_utf8(*value)) {
        r.fail(field, "is not valid UTF-8");
      }
    }
    if (!u.password_hash.empty() && u.password_hash.front() != '$') {
      r.fail("password",
             "expected a crypt(3) hash such as \"$2y$...\" or \"$y$...\" (make one "
             "with: edgeidp hash-password), not a plain-text password");
    }
    if (u.uid.empty()) {
      u.uid = default_uid(u.username);
    }
    std::sort(u.groups.begin(), u.groups.end());
    u.groups.erase(std::unique(u.groups.begin(), u.groups.end()), u.groups.end());
    for (const auto &g : u.groups) {
      if (!u.groups_csv.empty()) {
        u.groups_csv += ',';
      }
      u.groups_csv += g;
    }
    r.finish();
    top.adopt(r);
    user_lines.push_back(r.line());
    dir->users_.push_back(std::move(u));
  }
  top.finish();
  if (!top.ok()) {
    return *top.error();
  }

  // Duplicates and dangling group names are errors: a typo in a group name
  // would otherwise silently withhold (or grant) a role.
  std::sort(dir->groups_.begin(), dir->groups_.end(),
            [](const Group &a, const Group &b) { return a.name < b.name; });
  for (std::size_t i = 1; i < dir->groups_.size(); ++i) {
    if (dir->groups_[i].name == dir->groups_[i - 1].name) {
      return config_error(origin, 0, "group", "duplicate group \"" + dir->groups_[i].name + "\"");
    }
  }
  for (std::size_t i = 0; i < dir->users_.size(); ++i) {
    for (const auto &g : dir->users_[i].groups) {
      if (dir->find_group(g) == nullptr) {
        return config_error(origin, user_lines[i], "user[" + std::to_string(i) + "].groups",
                            "unknown group \"" + g + "\" (declare it with [[group]])");
      }
    }
  }
  std::vector<std::size_t> order(dir->users_.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return dir->users_[a].username < dir->users_[b].username;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (dir->users_[order[k]].username == dir->users_[order[k - 1]].username) {
      return config_error(origin, user_lines[order[k]],
                          "user[" + std::to_string(order[k]) + "].username",
                          "duplicate user \"" + dir->users_[order[k]].username + "\"");
    }
  }
  std::sort(dir->users_.begin(), dir->users_.end(),
            [](const User &a, const User &b) { return a.username < b.username; });
  return std::shared_ptr<const Directory>(std::move(dir));
}

const User *Directory::find_user(std::string_view username) const {
  auto it = std::lower_bound(users_.begin(), users_.end(), username,
                             [](const User &u, std::string_view n) { return u.username < n; });
  return it != users_.end() && it->username == username ? &*it : nullptr;
}

const Group *Directory::find_group(std::string_view name) const {
  auto it = std::lower_bound(groups_.begin(), groups_.end(), name,
                             [](const Group &g, std::string_view n) { return g.name < n; });
  return it != groups_.end() && it->name == name ? &*it : nullptr;
}

std::vector<const Group *> Directory::groups_of(const User &user) const {
  std::vector<const Group *> out;
  out.reserve(user.groups.size());
  for (const auto &name : user.groups) {  // user.groups is sorted
    if (const Group *g = find_group(name)) {
      out.push_back(g);
    }
  }
  return out;
}

Attributes Directory::merged_attributes(const User &user) const {
  Attributes out;
  for (const Group *g : groups_of(user)) {
    for (const auto &[k, v] : g->attributes) {
      out[k] = v;
    }
  }
  return out;
}

}  // namespace edgeidp::directory
