// A temporary edgeidp setup for unit tests: keys made at run time (no
// private key is ever committed), a config and a directory.
#pragma once

#include <ctime>
#include <string>
#include <sys/stat.h>

#include "common/file.h"
#include "crypto/keygen.h"
#include "test_util.h"

namespace edgeidp::test {

inline constexpr const char *kDirectory = R"(
[[group]]
name = "aws-admins"
attributes = { aws_role = "Admin" }
[[group]]
name = "aws-readonly"
attributes = { aws_role = "ReadOnly" }
[[group]]
name = "staff"
[[user]]
username = "alice"
name = "Alice Example"
email = "alice@example.com"
groups = ["aws-admins", "aws-readonly", "staff"]
[[user]]
username = "bob"
name = "Bob Example"
email = "bob@example.com"
groups = ["aws-readonly"]
[[user]]
username = "carol"
name = "Carol"
groups = ["staff"]
[[user]]
username = "dave"
active = false
groups = ["aws-admins"]
[[user]]
username = "x"
groups = ["aws-readonly"]
)";

inline constexpr const char *kAwsApp = R"(
[[app]]
name = "aws"
preset = "aws-iam"
[[app.attribute]]
name = "https://aws.amazon.com/SAML/Attributes/Role"
value = "arn:aws:iam::123412341234:role/{groups.aws_role},arn:aws:iam::123412341234:saml-provider/edgeidp"
)";

// The [idp] and [directory] sections pointing at files in the same folder.
inline std::string base_config() {
  return "[idp]\n"
         "entity_id = \"https://sso.example.com/edgeidp\"\n"
         "base_url = \"https://sso.example.com/edgeidp\"\n"
         "signing_key = \"signing.key\"\n"
         "signing_cert = \"signing.crt\"\n"
         "[directory]\n"
         "path = \"directory.toml\"\n";
}

// Makes dir/signing.key (0600) and dir/signing.crt valid from now-1h for
// 'days' days, dir/directory.toml and dir/edgeidp.toml. Empty on failure.
inline std::string make_setup(const std::string &dir, const std::string &config_text,
                              std::int64_t now, int days = 30) {
  auto pair = crypto::make_self_signed("test", 2048, days, now);
  if (!pair) {
    return {};
  }
  const std::string cfg = dir + "/edgeidp.toml";
  if (!write_file_atomic(dir + "/signing.key", pair->key_pem, 0600) ||
      !write_file_atomic(dir + "/signing.crt", pair->cert_pem, 0644) ||
      !write_file_atomic(dir + "/directory.toml", kDirectory, 0644) ||
      !write_file_atomic(cfg, config_text, 0644)) {
    return {};
  }
  return cfg;
}

inline std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace edgeidp::test
