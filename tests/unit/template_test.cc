#include "mapping/template.h"

#include "test_util.h"

using namespace edgeidp;

namespace {

constexpr const char *kDirectory = R"(
[[group]]
name = "aws-admins"
attributes = { aws_role = "Admin", account = "111111111111" }
[[group]]
name = "aws-readonly"
attributes = { aws_role = "ReadOnly", account = "222222222222" }
[[group]]
name = "staff"
attributes = { site = "hq" }
[[user]]
username = "alice"
name = "Alice van Example"
email = "Alice@Example.com"
uid = "u-1"
groups = ["aws-admins", "aws-readonly", "staff"]
attributes = { team = "ops" }
[[user]]
username = "carol"
name = "Carol"
groups = ["staff"]
)";

// Renders 'text' for a user; "!error message" when parsing fails; values
// joined by '|'.
std::string render(const std::string &text, const char *username = "alice") {
  auto dir = directory::Directory::parse(kDirectory, "d.toml");
  if (!dir) {
    return "!" + dir.error().describe();
  }
  auto t = mapping::Template::parse(text);
  if (!t) {
    return "!" + t.error().message;
  }
  const mapping::Context ctx(**dir, *(*dir)->find_user(username));
  std::string out;
  for (const auto &v : t->render(ctx)) {
    out += (out.empty() ? "" : "|") + v;
  }
  return out;
}

}  // namespace

static void user_fields(void **) {
  assert_string_equal(render("{user.username}").c_str(), "alice");
  assert_string_equal(render("{user.name}").c_str(), "Alice van Example");
  assert_string_equal(render("{user.email|lower}").c_str(), "alice@example.com");
  assert_string_equal(render("{user.uid}").c_str(), "u-1");
  assert_string_equal(render("team={user.attributes.team}").c_str(), "team=ops");
  assert_string_equal(render("literal {{braces}}").c_str(), "literal {braces}");
  assert_string_equal(render("{ user.username | upper }").c_str(), "ALICE");
}

static void name_split_filters(void **) {
  assert_string_equal(render("{user.name|given_name}").c_str(), "Alice");
  assert_string_equal(render("{user.name|family_name}").c_str(), "van Example");
  // No space: no family name, so the value is dropped unless defaulted.
  assert_string_equal(render("{user.name|family_name}", "carol").c_str(), "");
  assert_string_equal(render("{user.name|family_name|default:-}", "carol").c_str(), "-");
}

static void merged_group_attributes(void **) {
  // Later groups (by name) overwrite earlier ones: aws-readonly wins.
  assert_string_equal(render("{group.aws_role}").c_str(), "ReadOnly");
  assert_string_equal(render("{group.site}").c_str(), "hq");
}

static void per_group_expansion(void **) {
  assert_string_equal(
      render("arn:aws:iam::{groups.account}:role/{groups.aws_role},arn:aws:iam::{groups.account}"
             ":saml-provider/edgeidp")
          .c_str(),
      "arn:aws:iam::111111111111:role/Admin,arn:aws:iam::111111111111:saml-provider/edgeidp|"
      "arn:aws:iam::222222222222:role/ReadOnly,arn:aws:iam::222222222222:saml-provider/edgeidp");
  // A user whose groups have no aws_role gets no value at all.
  assert_string_equal(render("role/{groups.aws_role}", "carol").c_str(), "");
}

static void missing_fields_drop_the_value(void **) {
  assert_string_equal(render("x-{user.attributes.nope}").c_str(), "");
  assert_string_equal(render("{user.email}", "carol").c_str(), "");
  assert_string_equal(render("{user.attributes.nope|default:none}").c_str(), "none");
}

static void parse_errors_say_where(void **) {
  struct Case {
    const char *text;
    const char *expect;
  };
  const Case cases[] = {
      {"{user.nmae}", "column 1: unknown field \"user.nmae\""},
      {"ab{user.name", "column 3: unclosed '{'"},
      {"a}b", "column 2: unmatched '}'"},
      {"{user.name|shout}", "unknown filter \"shout\""},
      {"{group.a b}", "must be letters, digits"},
      {"{groups.}", "must be letters, digits"},
      {"{user.{name}}", "'{' inside a field"},
  };
  for (const auto &c : cases) {
    const std::string got = render(c.text);
    if (got.empty() || got[0] != '!' || !test::contains(got, c.expect)) {
      print_error("template %s: expected error containing \"%s\", got \"%s\"\n", c.text, c.expect,
                  got.c_str());
      fail();
    }
  }
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(user_fields),
      cmocka_unit_test(name_split_filters),
      cmocka_unit_test(merged_group_attributes),
      cmocka_unit_test(per_group_expansion),
      cmocka_unit_test(missing_fields_drop_the_value),
      cmocka_unit_test(parse_errors_say_where),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
