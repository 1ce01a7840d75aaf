#include "auth/password.h"

#include "test_util.h"

using namespace edgeidp;

namespace {

std::string hash(const char *pw, const char *method, unsigned long cost = 0) {
  auto h = auth::hash_password(pw, method, cost);
  return h.ok() ? *h : std::string();
}

}  // namespace

static void hashes_verify(void **) {
  for (const char *method : {"yescrypt", "bcrypt", "sha512crypt"}) {
    const std::string h = hash("correct horse", method, std::string(method) == "bcrypt" ? 4 : 0);
    assert_false(h.empty());
    assert_true(auth::verify_password(h, "correct horse"));
    assert_false(auth::verify_password(h, "correct horsE"));
    assert_false(auth::verify_password(h, ""));
  }
}

static void htpasswd_bcrypt_2y(void **) {
  // Written by `htpasswd -nbB -C 5 demo demo-password`.
  const char *h = "$2y$05$aqXOTzaiBjZQbP7yM1ykvuFsNjDq06T79Ouyk5NHxNgXAi96r76BG";
  assert_true(auth::verify_password(h, "demo-password"));
  assert_false(auth::verify_password(h, "demo-passwore"));
}

static void bad_inputs(void **) {
  assert_false(auth::verify_password("", "x"));
  assert_false(auth::verify_password("$unknown$abc", "x"));
  assert_false(auth::verify_password("*", "x"));
  assert_false(auth::hash_password("", "yescrypt").ok());
  assert_false(auth::hash_password("x", "md5").ok());
  assert_false(auth::hash_password(std::string("a\0b", 3), "yescrypt").ok());
  assert_false(auth::verify_password(hash("a", "sha512crypt"), std::string("a\0b", 3)));
}

namespace {

struct AuthOutcome {
  bool alice_ok = false, wrong_pw = false, unknown = false, inactive = false, nopw = false;
};

AuthOutcome authenticate_cases() {
  AuthOutcome out;
  const std::string h = hash("pw-1", "bcrypt", 4);
  const std::string text = "[[user]]\nusername = \"alice\"\npassword = \"" + h +
                           "\"\n[[user]]\nusername = \"dave\"\nactive = false\npassword = \"" + h +
                           "\"\n[[user]]\nusername = \"svc\"\n";
  auto dir = directory::Directory::parse(text, "d.toml");
  if (!dir) {
    return out;
  }
  auto ok = auth::authenticate(**dir, "alice", "pw-1");
  out.alice_ok = ok.ok() && (*ok)->username == "alice";
  auto wrong = auth::authenticate(**dir, "alice", "pw-2");
  out.wrong_pw = !wrong.ok() && wrong.error().code == Errc::denied;
  auto unknown = auth::authenticate(**dir, "mallory", "pw-1");
  out.unknown = !unknown.ok() && unknown.error().code == Errc::denied;
  auto inactive = auth::authenticate(**dir, "dave", "pw-1");
  out.inactive = !inactive.ok() && inactive.error().message == "user is inactive";
  auto nopw = auth::authenticate(**dir, "svc", "");
  out.nopw = !nopw.ok();
  return out;
}

}  // namespace

static void authenticate_against_directory(void **) {
  const AuthOutcome o = authenticate_cases();
  assert_true(o.alice_ok);
  assert_true(o.wrong_pw);
  assert_true(o.unknown);
  assert_true(o.inactive);
  assert_true(o.nopw);
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hashes_verify),
      cmocka_unit_test(htpasswd_bcrypt_2y),
      cmocka_unit_test(bad_inputs),
      cmocka_unit_test(authenticate_against_directory),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
