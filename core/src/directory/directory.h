// The people and groups edgeidp knows. Loaded from a TOML file (see
// docs/directory.md); immutable once loaded, so a loaded Directory can be
// shared by every request and thread without locks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace edgeidp::directory {

using Attributes = std::map<std::string, std::string, std::less<>>;

struct Group {
  std::string name;
  Attributes attributes;
};

struct User {
  std::string username;
  std::string name;  // display name, e.g. "Alice Example"
  std::string email;
  std::string uid;            // immutable id (SCIM externalId); defaults from username
  std::string password_hash;  // crypt(3) string; empty: cannot log in
  bool active = true;
  bool service_account = false;
  Attributes attributes;
  std::vector<std::string> groups;  // group names, sorted, unique
  std::string groups_csv;           // the same, comma-separated (identity headers)
};

class Directory {
 public:
  // load reads and validates a directory file. Every error names the file,
  // line and key.
  static Result<std::shared_ptr<const Directory>> load(const std::string &path);
  // parse is load for text already in memory; 'origin' names it in errors.
  static Result<std::shared_ptr<const Directory>> parse(std::string_view text,
                                                        const std::string &origin);

  const User *find_user(std::string_view username) const;
  const Group *find_group(std::string_view name) const;
  const std::vector<User> &users() const { return users_; }
  const std::vector<Group> &groups() const { return groups_; }

  // groups_of returns the user's groups sorted by name (the order in which
  // group attributes are merged: later groups overwrite earlier ones).
  std::vector<const Group *> groups_of(const User &user) const;
  // merged_attributes merges the attributes of the user's groups.
  Attributes merged_attributes(const User &user) const;

 private:
  std::vector<User> users_;    // sorted by username
  std::vector<Group> groups_;  // sorted by name
};

}  // namespace edgeidp::directory
