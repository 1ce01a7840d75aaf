#include "auth/password.h"

#include <cstring>
#include <memory>

#include <crypt.h>
#include <openssl/crypto.h>

namespace edgeidp::auth {
namespace {

// Hashing cost for unknown users when the directory gives nothing to copy:
// bcrypt cost 10, a common default.
constexpr const char *kFallbackSetting = "$2b$10$abcdefghijklmnopqrstuu";

// A password longer than this is refused before hashing: libxcrypt
// refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more
// for every method, so a longer one could never be set or match.
constexpr std::size_t kMaxPassword = CRYPT_MAX_PASSPHRASE_SIZE - 1;

bool crypt_matches(std::string_view setting, std::string_view password, std::string_view expect,
                   Pause pause) {
  if (auto own = bcrypt_hash(setting, password, pause)) {
    const bool ok = own->size() == expect.size() &&
                    CRYPTO_memcmp(own->data(), expect.data(), expect.size()) == 0;
    OPENSSL_cleanse(own->data(), own->size());
    return ok;
  }
  std::string pw(password);  // wiped after use
  const std::string set(setting);
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: keep it off the stack
  const char *out = crypt_rn(pw.c_str(), set.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == expect.size() &&
                  CRYPTO_memcmp(out, expect.data(), expect.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  return ok;
}

// The setting to burn time with for a user that does not exist: a real
// user's hash, so unknown names cost the same as known ones.
std::string_view dummy_setting(const directory::Directory &dir) {
  for (const auto &u : dir.users()) {
    if (!u.password_hash.empty()) {
      return u.password_hash;
    }
  }
  return kFallbackSetting;
}

}  // namespace

bool verify_password(std::string_view hash, std::string_view password, Pause pause) {
  if (hash.empty() || password.size() > kMaxPassword ||
      password.find('\0') != std::string_view::npos) {
    return false;
  }
  return crypt_matches(hash, password, hash, pause);
}

Result<std::string> hash_password(std::string_view password, std::string_view method,
                                  unsigned long cost) {
  if (password.empty() || password.size() > kMaxPassword ||
      password.find('\0') != std::string_view::npos) {
    return make_error(Errc::invalid, "password must be 1 to " + std::to_string(kMaxPassword) +
                                         " bytes with no NUL byte");
  }
  const char *prefix = nullptr;
  if (method == "yescrypt") {
    prefix = "$y$";
  } else if (method == "bcrypt") {
    prefix = "$2b$";
  } else if (method == "sha512crypt") {
    prefix = "$6$";
  } else {
    return make_error(Errc::invalid, "unknown hash method \"" + std::string(method) +
                                         "\"; expected yescrypt, bcrypt or sha512crypt");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting) == nullptr) {
    return make_error(Errc::invalid, "cannot make a " + std::string(method) + " salt with cost " +
                                         std::to_string(cost));
  }
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);  // wiped after use
  const char *out = crypt_rn(pw.c_str(), setting, data.get(), sizeof(crypt_data));
  const bool failed = out == nullptr || out[0] == '*';
  std::string hash(failed ? "" : out);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (failed) {
    return make_error(Errc::crypto, "crypt failed for method " + std::string(method));
  }
  return hash;
}

Result<const directory::User *> authenticate(const directory::Directory &dir,
                                             std::string_view username, std::string_view password,
                                             Pause pause) {
  const directory::User *user = dir.find_user(username);
  if (user == nullptr || user->password_hash.empty()) {
    (void)verify_password(dummy_setting(dir), password, pause);
    return make_error(Errc::denied, user == nullptr ? "unknown user" : "user has no password");
  }
  if (!verify_password(user->password_hash, password, pause)) {
    return make_error(Errc::denied, "wrong password");
  }
  if (!user->active) {
    return make_error(Errc::denied, "user is inactive");
  }
  return user;
}

}  // namespace edgeidp::auth
