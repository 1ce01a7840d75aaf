#include "auth/password.h"

#include <memory>
#include <optional>
#include <string>

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

// libxcrypt's hash of password with setting, or nullopt when it refuses.
// Its work area and the NUL-terminated copy of the password are wiped.
std::optional<std::string> libxcrypt_hash(std::string_view setting, std::string_view password) {
  std::string pw(password);
  const std::string set(setting);
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: keep it off the stack
  const char *out = crypt_rn(pw.c_str(), set.c_str(), data.get(), sizeof(crypt_data));
  std::optional<std::string> hash;
  if (out != nullptr && out[0] != '*') {
    hash.emplace(out);
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  return hash;
}

bool crypt_matches(std::string_view setting, std::string_view password, std::string_view expect,
                   Pause pause) {
  auto hash = bcrypt_hash(setting, password, pause);
  if (!hash) {
    hash = libxcrypt_hash(setting, password);
  }
  if (!hash) {
    return false;
  }
  const bool ok = hash->size() == expect.size() &&
                  CRYPTO_memcmp(hash->data(), expect.data(), expect.size()) == 0;
  OPENSSL_cleanse(hash->data(), hash->size());
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
  auto hash = libxcrypt_hash(setting, password);
  if (!hash) {
    return make_error(Errc::crypto, "crypt failed for method " + std::string(method));
  }
  return std::move(*hash);
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
