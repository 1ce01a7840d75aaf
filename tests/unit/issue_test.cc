#include "idp/issue.h"

#include "common/strings.h"
#include "config/config.h"
#include "directory/directory.h"
#include "fixture.h"
#include "idp/aws_rules.h"
#include "saml/library.h"

using namespace edgeidp;

namespace {

struct Issue {
  bool ok = false;
  Errc code = Errc::internal;
  std::string error, xml, base64, acs;
};

Issue issue_for(const char *username, const std::string &app_text = test::kAwsApp,
                const char *app = "aws") {
  Issue out;
  const std::string dir = test::make_temp_dir();
  const std::string path = test::make_setup(dir, test::base_config() + app_text, test::now());
  auto cfg = config::load(path);
  auto d = directory::Directory::load(dir + "/directory.toml");
  test::remove_tree(dir);
  if (!cfg || !d) {
    out.error = !cfg ? cfg.error().describe() : d.error().describe();
    return out;
  }
  idp::IssueOptions opts;
  opts.now = test::now();
  SystemRandom rng;
  auto r = idp::issue(**cfg, **d, *(*cfg)->find_app(app), *(*d)->find_user(username), opts, rng);
  out.ok = r.ok();
  if (!r) {
    out.code = r.error().code;
    out.error = r.error().message;
    return out;
  }
  out.xml = r->xml;
  out.base64 = r->base64;
  out.acs = r->acs_url;
  return out;
}

std::size_t count(const std::string &s, const std::string &what) {
  std::size_t n = 0;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

static void several_roles(void **) {
  const Issue i = issue_for("alice");
  assert_true(i.ok);
  assert_true(test::contains(
      i.xml,
      "arn:aws:iam::123412341234:role/Admin,arn:aws:iam::123412341234:saml-provider/edgeidp"));
  assert_true(test::contains(i.xml, "arn:aws:iam::123412341234:role/ReadOnly,"));
  assert_true(test::contains(i.xml, "https://aws.amazon.com/SAML/Attributes/RoleSessionName"));
  assert_string_equal(i.acs.c_str(), "https://signin.aws.amazon.com/saml");
  auto decoded = base64_decode(i.base64, 1 << 20);
  assert_true(decoded.ok() && *decoded == i.xml);
}

static void single_role(void **) {
  const Issue i = issue_for("bob");
  assert_true(i.ok);
  assert_int_equal(count(i.xml, ":role/"), 1);
  assert_true(test::contains(i.xml, "role/ReadOnly"));
}

static void no_role_is_a_clear_error(void **) {
  const Issue i = issue_for("carol");
  assert_false(i.ok);
  assert_int_equal(static_cast<int>(i.code), static_cast<int>(Errc::not_found));
  assert_true(test::contains(i.error, "user carol"));
  assert_true(test::contains(i.error, "no group that grants an AWS role"));
}

static void inactive_user_refused(void **) {
  const Issue i = issue_for("dave");
  assert_false(i.ok);
  assert_int_equal(static_cast<int>(i.code), static_cast<int>(Errc::denied));
}

static void invalid_session_name_refused(void **) {
  const Issue i = issue_for("x");  // RoleSessionName "x" is one character
  assert_false(i.ok);
  assert_int_equal(static_cast<int>(i.code), static_cast<int>(Errc::invalid));
  assert_true(test::contains(i.error, "RoleSessionName value \"x\""));
}

static void app_groups_limit_access(void **) {
  const std::string app = std::string(test::kAwsApp) + "";
  const Issue i =
      issue_for("bob",
                "[[app]]\nname = \"aws\"\npreset = \"aws-iam\"\n"
                "groups = [\"aws-admins\"]\n"
                "[[app.attribute]]\nname = \"https://aws.amazon.com/SAML/Attributes/Role\"\n"
                "value = "
                "\"arn:aws:iam::123412341234:role/"
                "{groups.aws_role},arn:aws:iam::123412341234:saml-provider/p\"\n");
  assert_false(i.ok);
  assert_int_equal(static_cast<int>(i.code), static_cast<int>(Errc::denied));
}

static void oversize_response_refused(void **) {
  std::string app =
      std::string(test::kAwsApp) + "[[app.attribute]]\nname = \"urn:example:big\"\nvalues = [";
  for (int k = 0; k < 800; ++k) {
    app += "\"value-" + std::to_string(k) + "-" + std::string(90, 'x') + "\",";
  }
  app += "]\n";
  const Issue i = issue_for("bob", app);
  assert_false(i.ok);
  assert_int_equal(static_cast<int>(i.code), static_cast<int>(Errc::limit));
  assert_true(test::contains(i.error, "at most 100000"));
}

static void role_pairs(void **) {
  const char *role = "arn:aws:iam::123456789012:role/path/Admin";
  const char *prov = "arn:aws:iam::123456789012:saml-provider/edgeidp";
  assert_true(idp::check_role_pair("aws", std::string(role) + "," + prov).ok());
  assert_true(idp::check_role_pair("aws", std::string(prov) + "," + role).ok());  // either order
  assert_false(idp::check_role_pair("aws-us-gov", std::string(role) + "," + prov).ok());
  assert_false(idp::check_role_pair("aws", std::string(role) + "," + role).ok());
  assert_false(idp::check_role_pair("aws", role).ok());
  assert_false(idp::check_role_pair("aws", "arn:aws:iam::12345:role/A," + std::string(prov)).ok());
  assert_false(
      idp::check_role_pair("aws", "arn:aws:iam::123456789012:role/," + std::string(prov)).ok());
  assert_false(
      idp::check_role_pair("aws", "arn:aws:iam::123456789012:role/a b," + std::string(prov)).ok());
  assert_false(idp::check_role_pair("aws", std::string(role) + "," + prov + ",x").ok());
}

static void aws_attribute_rules(void **) {
  using config::Preset;
  const auto check = [](const char *name, std::vector<std::string> v) {
    return idp::check_aws_attribute(Preset::aws_iam, name, v).ok();
  };
  assert_true(check(idp::kAwsRoleSessionName, {"alice@example.com"}));
  assert_false(check(idp::kAwsRoleSessionName, {"alice example"}));
  assert_false(check(idp::kAwsRoleSessionName, {std::string(65, 'a')}));
  assert_false(check(idp::kAwsRoleSessionName, {"ab", "cd"}));
  assert_true(check(idp::kAwsSessionDuration, {"3600"}));
  assert_false(check(idp::kAwsSessionDuration, {"899"}));
  assert_false(check(idp::kAwsSessionDuration, {"43201"}));
  assert_false(check(idp::kAwsSessionDuration, {"1h"}));
  assert_false(check(idp::kAwsSourceIdentity, {"aws:me"}));
  assert_true(check("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team", {"ops team"}));
  assert_false(check("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team", {"a", "b"}));
  assert_false(check("https://aws.amazon.com/SAML/Attributes/PrincipalTag:team", {"a;b"}));
  assert_true(check("urn:other", {"anything at all", "x"}));
}

static int setup(void **) {
  return saml::library_init().ok() ? 0 : -1;
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(several_roles),
      cmocka_unit_test(single_role),
      cmocka_unit_test(no_role_is_a_clear_error),
      cmocka_unit_test(inactive_user_refused),
      cmocka_unit_test(invalid_session_name_refused),
      cmocka_unit_test(app_groups_limit_access),
      cmocka_unit_test(oversize_response_refused),
      cmocka_unit_test(role_pairs),
      cmocka_unit_test(aws_attribute_rules),
  };
  return cmocka_run_group_tests(tests, setup, nullptr);
}
