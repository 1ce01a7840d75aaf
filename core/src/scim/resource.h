// What edgeidp wants Identity Center to hold: every user and group in scope,
// mapped to the SCIM JSON AWS accepts, with a content hash so an unchanged
// object costs no request.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/scim_config.h"
#include "directory/directory.h"

namespace edgeidp::scim {

using json = nlohmann::json;

inline constexpr const char *kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr const char *kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr const char *kPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct UserResource {
  std::string key;  // the directory uid: immutable, survives renames
  std::string user_name;
  bool active = true;
  json body;
  std::string hash;
};

struct GroupResource {
  std::string key;  // the directory group name
  std::string display_name;
  json body;
  std::string hash;
};

struct Desired {
  std::map<std::string, UserResource> users;             // by key
  std::map<std::string, GroupResource> groups;           // by key
  std::map<std::string, std::set<std::string>> members;  // group key -> user keys
  std::vector<std::string> notes;                        // users left out, and why
};

// in_scope says whether a user is pushed at all: service accounts (unless
// allowed) and users outside the filter group are not.
bool in_scope(const config::ScimTarget &target, const directory::User &user);

// map_user builds the SCIM User. The four attributes AWS requires are never
// empty: a missing given name falls back to the userName and a missing family
// name to " " (authentik's choice). One primary email at most; never photos.
// Returns false with 'why' set when the user cannot be sent (no userName).
bool map_user(const config::ScimTarget &target, const directory::Directory &dir,
              const directory::User &user, UserResource &out, std::string &why);

bool map_group(const config::ScimTarget &target, const directory::Directory &dir,
               const directory::Group &group, GroupResource &out, std::string &why);

Desired build_desired(const config::ScimTarget &target, const directory::Directory &dir);

// to_text serialises without throwing: invalid UTF-8 is replaced, not fatal.
inline std::string to_text(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// content_hash is a stable digest of a JSON value (sorted keys).
std::string content_hash(const json &value);

}  // namespace edgeidp::scim
