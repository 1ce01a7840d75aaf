// Mapping templates: how a user's and their groups' fields become SAML
// attribute values and SCIM fields. Grammar in docs/templates.md:
//
//   "{user.username}"                        one value
//   "arn:aws:iam::1:role/{groups.aws_role},arn:aws:iam::1:saml-provider/x"
//                                            one value per group with aws_role
//   "{user.name|given_name}"                 a filter
//
// Templates are parsed when the config is loaded, so a typo is a config error
// and never a request-time surprise. Rendering runs no code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "directory/directory.h"

namespace edgeidp::mapping {

// What a template sees: one user and their groups, sorted by name.
struct Context {
  const directory::User &user;
  std::vector<const directory::Group *> groups;
  directory::Attributes merged;  // group attributes, later groups win

  Context(const directory::Directory &dir, const directory::User &u)
      : user(u), groups(dir.groups_of(u)), merged(dir.merged_attributes(u)) {}
};

class Template {
 public:
  enum class Source { text, username, name, email, uid, user_attribute, group, groups };
  enum class Filter { lower, upper, trim, given_name, family_name, default_value };

  struct FilterStep {
    Filter filter;
    std::string arg;  // default_value's text
  };
  struct Part {
    Source source = Source::text;
    std::string text;  // literal text, or the attribute key
    std::vector<FilterStep> filters;
  };

  Template() = default;

  // parse checks the whole grammar; the error says what is wrong and where
  // (1-based column).
  static Result<Template> parse(std::string_view text);

  // render returns the values: none when a referenced field is missing or
  // empty (and has no default), one normally, one per matching group when
  // the template uses {groups.KEY}. Duplicates are dropped, order is kept.
  std::vector<std::string> render(const Context &ctx) const;

  const std::string &source() const { return source_; }
  bool per_group() const { return per_group_; }

 private:
  std::string source_;
  std::vector<Part> parts_;
  bool per_group_ = false;
};

}  // namespace edgeidp::mapping
