#include "auth/password.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>

#include <crypt.h>

#include "auth/bcrypt.h"
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

namespace {

std::string libxcrypt(const std::string &setting, const std::string &pw) {
  auto data = std::make_unique<crypt_data>();
  const char *out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  return out == nullptr ? std::string() : std::string(out);
}

}  // namespace

// Our bcrypt (which can pause between rounds) gives libxcrypt's string for
// every setting it takes: random passwords of 0 to 100 bytes (past the
// 72 that count, 8-bit bytes), random salts (including non-canonical last
// characters, which both write back canonical), three minor versions.
static void bcrypt_matches_libxcrypt(void **) {
  const std::string alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937 rng(20261123);
  int compared = 0, declined = 0;
  for (int i = 0; i < 120; ++i) {
    const char minor = "bya"[i % 3];
    const bool eight_bit = i % 2 == 0;
    std::string setting = std::string("$2") + minor + "$0" + (i % 4 == 0 ? "5" : "4") + "$";
    for (int k = 0; k < 22; ++k) {
      setting += alphabet[rng() % alphabet.size()];
    }
    std::string pw;
    const std::size_t len = rng() % 101;
    for (std::size_t k = 0; k < len; ++k) {
      pw += static_cast<char>(1 + rng() % (eight_bit ? 255 : 127));
    }
    const std::string want = libxcrypt(setting, pw);
    assert_int_equal(want.size(), 60);
    const auto got = auth::bcrypt_hash(setting, pw, nullptr);
    const bool high = std::any_of(pw.begin(), pw.end(), [](char c) { return (c & 0x80) != 0; });
    if (minor == 'a' && high) {
      assert_false(got.has_value());  // left to libxcrypt
      ++declined;
      continue;
    }
    assert_true(got.has_value());
    assert_string_equal(got->c_str(), want.c_str());
    assert_true(auth::verify_password(want, pw));
    ++compared;
  }
  assert_true(compared >= 90);
  assert_true(declined >= 15);
}

namespace {
int pauses = 0;
void count_pause() {
  ++pauses;
}
}  // namespace

// One pause per round (2^cost), and none of this changes the result.
static void bcrypt_pauses_every_round(void **) {
  const std::string h = hash("correct horse", "bcrypt", 6);
  pauses = 0;
  assert_true(auth::verify_password(h, "correct horse", count_pause));
  assert_int_equal(pauses, 64);
  assert_false(auth::verify_password(h, "correct horsE", count_pause));
  assert_int_equal(pauses, 128);
  // Settings it does not take go to libxcrypt unchanged, without pauses.
  const std::string y = hash("correct horse", "yescrypt");
  assert_true(auth::verify_password(y, "correct horse", count_pause));
  assert_int_equal(pauses, 128);
  for (const char *bad :
       {"$2b$03$aqXOTzaiBjZQbP7yM1ykvu", "$2b$32$aqXOTzaiBjZQbP7yM1ykvu",
        "$2b$1a$aqXOTzaiBjZQbP7yM1ykvu", "$2b$05$aqXOTzaiBjZQbP7yM1yk!u", "$2b$05$short",
        "$2x$05$aqXOTzaiBjZQbP7yM1ykvu", "$2b$05$aqXOTzaiBjZQbP7yM1ykvu\x8d"}) {
    assert_false(auth::bcrypt_hash(bad, "pw", count_pause).has_value());
    assert_false(auth::verify_password(bad, "pw", count_pause));
  }
  assert_int_equal(pauses, 128);
  // libxcrypt's limits: a passphrase of 512 bytes or more, and a NUL.
  const std::string setting = "$2b$04$aqXOTzaiBjZQbP7yM1ykvu";
  const std::string long_ok(511, 'x');
  const auto at_limit = auth::bcrypt_hash(setting, long_ok, nullptr);
  assert_true(at_limit.has_value());
  assert_string_equal(at_limit->c_str(), libxcrypt(setting, long_ok).c_str());
  assert_false(auth::bcrypt_hash(setting, std::string(512, 'x'), nullptr).has_value());
  assert_true(libxcrypt(setting, std::string(512, 'x')).empty());
  assert_false(auth::verify_password(*at_limit, std::string(512, 'x')));
  assert_false(auth::bcrypt_hash(setting, std::string("ab\0c", 4), nullptr).has_value());
}

static void bad_inputs(void **) {
  assert_false(auth::verify_password("", "x"));
  assert_false(auth::verify_password("$unknown$abc", "x"));
  assert_false(auth::verify_password("*", "x"));
  assert_false(auth::hash_password("", "yescrypt").ok());
  assert_false(auth::hash_password("x", "md5").ok());
  assert_false(auth::hash_password(std::string("a\0b", 3), "yescrypt").ok());
  // libxcrypt's passphrase limit, with a message that says so.
  assert_true(auth::hash_password(std::string(511, 'p'), "sha512crypt").ok());
  const auto too_long = auth::hash_password(std::string(512, 'p'), "sha512crypt");
  assert_false(too_long.ok());
  assert_non_null(strstr(too_long.error().message.c_str(), "1 to 511 bytes"));
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
      cmocka_unit_test(bcrypt_matches_libxcrypt),
      cmocka_unit_test(bcrypt_pauses_every_round),
      cmocka_unit_test(bad_inputs),
      cmocka_unit_test(authenticate_against_directory),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
