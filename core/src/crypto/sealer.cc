#include "crypto/sealer.h"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/file.h"
#include "common/owned.h"
#include "common/strings.h"

namespace edgeidp::crypto {
namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

unsigned char key_id(const std::array<unsigned char, 32> &bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes.data(), bytes.size(), digest);
  return digest[0];
}

}  // namespace

Result<Sealer> Sealer::make(std::vector<SealKey> keys) {
  if (keys.empty()) {
    return make_error(Errc::invalid, "no session key");
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[i].id == keys[j].id) {
        return make_error(Errc::invalid, "two session keys share the id " +
                                             std::to_string(keys[i].id) +
                                             " (the same key twice?); make a new key");
      }
    }
  }
  Sealer s;
  s.keys_ = std::move(keys);
  return s;
}

std::string Sealer::seal(std::string_view plaintext, std::string_view aad) const {
  if (keys_.empty()) {
    return {};
  }
  const SealKey &key = keys_.front();
  std::string out(1 + kNonce + plaintext.size() + kTag, '\0');
  auto *p = reinterpret_cast<unsigned char *>(out.data());
  p[0] = key.id;
  if (RAND_bytes(p + 1, kNonce) != 1) {
    return {};
  }
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int fin = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), p + 1) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char *>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), p + 1 + kNonce, &len,
                        reinterpret_cast<const unsigned char *>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), p + 1 + kNonce + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                          p + 1 + kNonce + plaintext.size()) != 1) {
    return {};
  }
  return base64url_encode(out);
}

std::optional<std::string> Sealer::open(std::string_view sealed, std::string_view aad,
                                        std::size_t max_len) const {
  // Bound the work before decoding: base64url of max_len plus overhead.
  if (sealed.size() > (max_len + 1 + kNonce + kTag) * 4 / 3 + 4) {
    return std::nullopt;
  }
  const auto raw = base64url_decode(sealed);
  if (!raw || raw->size() < 1 + kNonce + kTag) {
    return std::nullopt;
  }
  const auto *p = reinterpret_cast<const unsigned char *>(raw->data());
  const SealKey *key = nullptr;
  for (const auto &k : keys_) {
    if (k.id == p[0]) {
      key = &k;
      break;
    }
  }
  if (key == nullptr) {
    return std::nullopt;
  }
  const std::size_t ct_len = raw->size() - 1 - kNonce - kTag;
  std::string plain(ct_len, '\0');
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int fin = 0;
  unsigned char tag[kTag];
  std::memcpy(tag, p + 1 + kNonce + ct_len, kTag);
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->bytes.data(), p + 1) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char *>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char *>(plain.data()), &len,
                        p + 1 + kNonce, static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char *>(plain.data()) + len, &fin) ==
          1;
  if (!ok) {
    return std::nullopt;
  }
  return plain;
}

Result<SealKey> load_seal_key(const std::string &path) {
  auto text = read_secret_file(path, 4096);
  if (!text) {
    return text.take_error();
  }
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) {
    t.pop_back();
  }
  OPENSSL_cleanse(text->data(), text->size());
  auto raw = base64_decode(t, 64);
  OPENSSL_cleanse(t.data(), t.size());
  if (!raw || raw->size() != 32) {
    return make_error(Errc::invalid, path +
                                         ": expected 32 random bytes in base64 (make one with: "
                                         "edgeidp keygen --session-key FILE)");
  }
  SealKey key;
  std::memcpy(key.bytes.data(), raw->data(), 32);
  OPENSSL_cleanse(raw->data(), raw->size());
  key.id = key_id(key.bytes);
  return key;
}

Result<std::string> make_seal_key_text() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return make_error(Errc::crypto, "the random generator failed");
  }
  std::string text = base64_encode(std::string_view(reinterpret_cast<char *>(bytes), sizeof bytes));
  OPENSSL_cleanse(bytes, sizeof bytes);
  return text + "\n";
}

}  // namespace edgeidp::crypto
