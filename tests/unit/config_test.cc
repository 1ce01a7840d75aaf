#include "config/config.h"

#include <sys/stat.h>

#include "fixture.h"
#include "saml/library.h"
#include "saml/response.h"

using namespace edgeidp;

namespace {

struct Outcome {
  bool ok = false;
  std::string error;
  std::string acs, audience, name_id_format, directory_path, key_file;
  std::size_t attributes = 0;
  bool session_name_defaulted = false;
};

// Loads base_config() + extra from a fresh folder; 'prepare' may alter the
// folder (permissions, files) before the load.
Outcome load(const std::string &extra, void (*prepare)(const std::string &) = nullptr,
             std::int64_t at = 0, bool whole = false) {
  Outcome out;
  const std::string dir = test::make_temp_dir();
  const std::string path =
      test::make_setup(dir, whole ? extra : test::base_config() + extra, test::now());
  if (prepare != nullptr) {
    prepare(dir);
  }
  config::LoadOptions opts;
  opts.now = at != 0 ? at : test::now();
  auto cfg = config::load(path, opts);
  out.ok = cfg.ok();
  if (!cfg) {
    out.error = cfg.error().describe();
    // Messages name the file relative to the temp folder for comparison.
    for (auto pos = out.error.find(dir); pos != std::string::npos; pos = out.error.find(dir)) {
      out.error.replace(pos, dir.size(), "DIR");
    }
  } else if (!(*cfg)->apps.empty()) {
    const auto &app = (*cfg)->apps[0];
    out.acs = app.acs_url;
    out.audience = app.audience;
    out.name_id_format = app.name_id_format;
    out.attributes = app.attributes.size();
    out.session_name_defaulted =
        !app.attributes.empty() &&
        app.attributes.back().name == "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
    out.directory_path = (*cfg)->directory.path.substr(dir.size());
    out.key_file = (*cfg)->idp.signing_key_file.substr(dir.size());
  }
  test::remove_tree(dir);
  return out;
}

void expect_error(const std::string &extra, const char *expect, bool whole = false) {
  const Outcome o = load(extra, nullptr, 0, whole);
  if (o.ok || !test::contains(o.error, expect)) {
    print_error("expected error containing: %s\ngot: %s\n", expect,
                o.ok ? "(loaded fine)" : o.error.c_str());
    fail();
  }
}

}  // namespace

static void aws_preset_defaults(void **) {
  const Outcome o = load(test::kAwsApp);
  assert_true(o.ok);
  assert_string_equal(o.acs.c_str(), "https://signin.aws.amazon.com/saml");
  assert_string_equal(o.audience.c_str(), "urn:amazon:webservices");
  assert_string_equal(o.name_id_format.c_str(), saml::kNameIdPersistent);
  assert_int_equal(o.attributes, 2);
  assert_true(o.session_name_defaulted);
  // Relative paths resolve against the config file's folder.
  assert_string_equal(o.directory_path.c_str(), "/directory.toml");
  assert_string_equal(o.key_file.c_str(), "/signing.key");
}

static void regional_and_govcloud(void **) {
  Outcome o =
      load(std::string(test::kAwsApp) + "acs = \"https://eu-west-1.signin.aws.amazon.com/saml\"\n");
  // The acs line lands in the attribute table above; put it in the app:
  assert_false(o.ok);
  o = load(
      "[[app]]\nname = \"aws\"\npreset = \"aws-iam\"\n"
      "acs = \"https://eu-west-1.signin.aws.amazon.com/saml\"\n"
      "[[app.attribute]]\nname = \"https://aws.amazon.com/SAML/Attributes/Role\"\n"
      "value = \"arn:aws:iam::1:role/a,arn:aws:iam::1:saml-provider/b\"\n");
  assert_true(o.ok);
  assert_string_equal(o.acs.c_str(), "https://eu-west-1.signin.aws.amazon.com/saml");
  o = load(
      "[[app]]\nname = \"gov\"\npreset = \"aws-us-gov-iam\"\n"
      "[[app.attribute]]\nname = \"https://aws.amazon.com/SAML/Attributes/Role\"\n"
      "value = \"x\"\n");
  assert_true(o.ok);
  assert_string_equal(o.acs.c_str(), "https://signin.amazonaws-us-gov.com/saml");
  assert_string_equal(o.audience.c_str(), "urn:amazon:webservices:govcloud");
}

static void errors_name_file_line_and_key(void **) {
  expect_error("[idp]\nentity_id = \"x\"\n",
               "DIR/edgeidp.toml:8: TOML syntax error: Error while parsing table header");
  expect_error("colour = 1\n", "DIR/edgeidp.toml:8: directory.colour: unknown key");
  expect_error(std::string(test::kAwsApp) + "bogus = true\n",
               "DIR/edgeidp.toml:15: app[0].attribute[0].bogus: unknown key");
  expect_error("[[app]]\nname = \"a\"\npreset = \"aws-iam\"\nvalidity = \"300\"\n",
               "DIR/edgeidp.toml:11: app[0].validity: expected an integer, found a string");
  expect_error("[[app]]\nname = \"a\"\npreset = \"aws-iam\"\nvalidity = 5\n",
               "app[0].validity: expected an integer from 30 to 3600, found 5");
  expect_error("[[app]]\nname = \"a\"\npreset = \"aws-iam\"\n",
               "app[0].attribute: an AWS app needs an [[app.attribute]] named "
               "https://aws.amazon.com/SAML/Attributes/Role");
  expect_error("[[app]]\nname = \"a\"\npreset = \"aws-lam\"\n", "unknown preset \"aws-lam\"");
  expect_error("[[app]]\nname = \"A b\"\npreset = \"aws-iam\"\n", "app[0].name: expected 1 to 64");
  expect_error("[[app]]\nname = \"g\"\n", "app[0].acs: is required");
  expect_error("[[app]]\nname = \"g\"\nacs = \"ftp://x\"\naudience = \"y\"\n",
               "app[0].acs: expected an absolute https:// URL");
  expect_error(
      std::string(test::kAwsApp) + "[[app.attribute]]\nname = \"n\"\nvalue = \"{user.nam}\"\n",
      "app[0].attribute[1].value: template column 1: unknown field \"user.nam\"");
  expect_error(std::string(test::kAwsApp) + test::kAwsApp, "duplicate app name \"aws\"");
  expect_error(
      "[[app]]\nname = \"g\"\nacs = \"https://x\"\naudience = \"y\"\n"
      "sign_assertion = false\nsign_response = false\n",
      "at least one of sign_assertion and sign_response");
  expect_error("[directory]\npath = \"d.toml\"\n", "DIR/edgeidp.toml:1: idp: is required", true);
}

static void key_file_problems(void **) {
  Outcome o = load(test::kAwsApp,
                   [](const std::string &dir) { ::chmod((dir + "/signing.key").c_str(), 0644); });
  assert_false(o.ok);
  assert_true(test::contains(o.error, "idp.signing_key"));
  assert_true(test::contains(o.error, "must not be accessible by group or others"));

  o = load(test::kAwsApp, [](const std::string &dir) { ::unlink((dir + "/signing.crt").c_str()); });
  assert_false(o.ok);
  assert_true(test::contains(o.error, "signing.crt"));

  // A certificate from another key.
  o = load(test::kAwsApp, [](const std::string &dir) {
    auto other = crypto::make_self_signed("other", 2048, 30, test::now());
    if (other) {
      (void)write_file_atomic(dir + "/signing.crt", other->cert_pem, 0644);
    }
  });
  assert_false(o.ok);
  assert_true(test::contains(o.error, "does not match"));

  // Loaded 60 days later, the 30-day certificate has expired.
  o = load(test::kAwsApp, nullptr, test::now() + 60 * 86400);
  assert_false(o.ok);
  assert_true(test::contains(o.error, "expired"));
}

static void identity_center_preset(void **) {
  const std::string md = std::string(EDGEIDP_TEST_DATA) + "/aws-identity-center-sp-metadata.xml";
  Outcome o = load("[[app]]\nname = \"idc\"\npreset = \"aws-identity-center\"\nsp_metadata = \"" +
                   md + "\"\n");
  assert_true(o.ok);
  assert_string_equal(o.acs.c_str(),
                      "https://eu-central-1.signin.aws.amazon.com/platform/saml/acs/"
                      "e4f71ab4-31d3-46cd-a105-2c2c38ec0032");
  // "Copy the Issuer URL to the Audience field": the SP entity ID.
  assert_string_equal(o.audience.c_str(),
                      "https://eu-central-1.signin.aws.amazon.com/platform/saml/d-99677451d0");
  assert_string_equal(o.name_id_format.c_str(), saml::kNameIdEmail);
  expect_error("[[app]]\nname = \"idc\"\npreset = \"aws-identity-center\"\n",
               "app[0].sp_metadata: is required");
  expect_error(
      "[[app]]\nname = \"idc\"\npreset = \"aws-identity-center\"\n"
      "sp_metadata = \"edgeidp.toml\"\n",
      "app[0].sp_metadata: DIR/edgeidp.toml: XML document is not well-formed");
}

static int setup(void **) {
  return saml::library_init().ok() ? 0 : -1;
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(aws_preset_defaults),           cmocka_unit_test(regional_and_govcloud),
      cmocka_unit_test(errors_name_file_line_and_key), cmocka_unit_test(key_file_problems),
      cmocka_unit_test(identity_center_preset),
  };
  return cmocka_run_group_tests(tests, setup, nullptr);
}
