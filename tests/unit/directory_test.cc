#include "directory/directory.h"

#include "test_util.h"

using namespace edgeidp;

namespace {

constexpr const char *kDirectory = R"(
[[group]]
name = "b-readonly"
attributes = { aws_role = "ReadOnly", tier = "b" }

[[group]]
name = "a-admins"
attributes = { aws_role = "Admin", tier = "a", level = 3 }

[[user]]
username = "alice"
name = "Alice Example"
email = "alice@example.com"
password = "$y$j9T$abc$def"
groups = ["b-readonly", "a-admins", "a-admins"]
attributes = { department = "ops" }

[[user]]
username = "svc"
service_account = true
active = false
)";

struct Loaded {
  bool ok = false;
  std::string error;
  std::size_t users = 0;
  std::vector<std::string> alice_groups;
  std::string merged_role, merged_tier, merged_level, uid, svc_name;
  bool svc_flags = false;
};

Loaded load(const std::string &text) {
  Loaded out;
  auto dir = directory::Directory::parse(text, "dir.toml");
  out.ok = dir.ok();
  if (!dir) {
    out.error = dir.error().describe();
    return out;
  }
  out.users = (*dir)->users().size();
  if (const auto *alice = (*dir)->find_user("alice")) {
    for (const auto *g : (*dir)->groups_of(*alice)) {
      out.alice_groups.push_back(g->name);
    }
    const auto merged = (*dir)->merged_attributes(*alice);
    out.merged_role = merged.at("aws_role");
    out.merged_tier = merged.at("tier");
    out.merged_level = merged.at("level");
    out.uid = alice->uid;
  }
  if (const auto *svc = (*dir)->find_user("svc")) {
    out.svc_flags = svc->service_account && !svc->active;
    out.svc_name = svc->name;
  }
  return out;
}

}  // namespace

static void loads_users_and_groups(void **) {
  const Loaded l = load(kDirectory);
  assert_true(l.ok);
  assert_int_equal(l.users, 2);
  // Sorted by name and de-duplicated: the authentik merge order.
  assert_int_equal(l.alice_groups.size(), 2);
  assert_string_equal(l.alice_groups[0].c_str(), "a-admins");
  assert_string_equal(l.alice_groups[1].c_str(), "b-readonly");
  assert_true(l.svc_flags);
  assert_string_equal(l.svc_name.c_str(), "svc");  // name defaults to the username
  assert_int_equal(l.uid.size(), 64);
}

static void later_groups_overwrite_earlier(void **) {
  const Loaded l = load(kDirectory);
  assert_string_equal(l.merged_role.c_str(), "ReadOnly");  // b-readonly sorts after a-admins
  assert_string_equal(l.merged_tier.c_str(), "b");
  assert_string_equal(l.merged_level.c_str(), "3");  // only a-admins has it
}

static void errors_name_file_line_and_key(void **) {
  struct Case {
    const char *text;
    const char *expect;
  };
  const Case cases[] = {
      {"[[user]]\nusername = \"a\"\ncolour = \"red\"\n", "dir.toml:3: user[0].colour: unknown key"},
      {"[[user]]\nname = \"A\"\n", "dir.toml:1: user[0].username: is required"},
      {"[[user]]\nusername = 7\n",
       "dir.toml:2: user[0].username: expected a string, found an integer"},
      {"[[user]]\nusername = \"a\"\ngroups = [\"nope\"]\n", "unknown group \"nope\""},
      {"[[user]]\nusername = \"a\"\n[[user]]\nusername = \"a\"\n", "duplicate user \"a\""},
      {"[[group]]\nname = \"g\"\n[[group]]\nname = \"g\"\n", "duplicate group \"g\""},
      {"[[user]]\nusername = \"a\"\npassword = \"hunter2\"\n", "not a plain-text password"},
      {"[[user]]\nusername = \"a\\nb\"\n", "control characters"},
      {"[[user]]\nusername = \"a\"\nactive = \"yes\"\n", "expected true or false, found a string"},
      {"[[user]\n", "dir.toml:1: TOML syntax error"},
      {"[[group]]\nname = \"g\"\nattributes = { x = [1] }\n",
       "expected a string, integer or boolean"},
  };
  for (const auto &c : cases) {
    const Loaded l = load(c.text);
    if (l.ok || !test::contains(l.error, c.expect)) {
      print_error("input:\n%s\nexpected error containing: %s\ngot: %s\n", c.text, c.expect,
                  l.ok ? "(loaded fine)" : l.error.c_str());
      fail();
    }
  }
}

static void missing_file_is_an_error(void **) {
  auto dir = directory::Directory::load("/nonexistent/edgeidp/dir.toml");
  const bool failed = !dir.ok() && dir.error().code == Errc::io;
  assert_true(failed);
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loads_users_and_groups),
      cmocka_unit_test(later_groups_overwrite_earlier),
      cmocka_unit_test(errors_name_file_line_and_key),
      cmocka_unit_test(missing_file_is_an_error),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
