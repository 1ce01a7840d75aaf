// Sealed values (session and login-state cookies): AES-256-GCM with a fresh
// random 96-bit nonce per seal and a key ring, so keys rotate without
// logging everyone out: the first key seals, every key opens.
//
// Wire form (then base64url): key id (1 byte) | nonce (12) | ciphertext | tag (16).
// The associated data binds a sealed value to its purpose and audience
// (cookie name, host), so a cookie cannot be replayed on another vhost or
// used as another kind of cookie.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace edgeidp::crypto {

struct SealKey {
  unsigned char id = 0;  // derived from the key bytes: stable across restarts
  std::array<unsigned char, 32> bytes{};
};

class Sealer {
 public:
  Sealer() = default;
  // keys[0] seals. Fails on an empty ring or two keys with the same id.
  static Result<Sealer> make(std::vector<SealKey> keys);

  // seal returns base64url text; empty only if the RNG or cipher failed.
  std::string seal(std::string_view plaintext, std::string_view aad) const;
  // open returns the plaintext, or nullopt for anything that is not a value
  // this ring sealed with the same associated data.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad,
                                  std::size_t max_len = 4096) const;

  bool empty() const { return keys_.empty(); }

 private:
  std::vector<SealKey> keys_;
};

// load_seal_key reads a key file: 32 random bytes as base64 or hex text
// (what `edgeidp keygen --session-key` writes), mode 0600.
Result<SealKey> load_seal_key(const std::string &path);
// make_seal_key_text returns the text of a new key file.
Result<std::string> make_seal_key_text();

}  // namespace edgeidp::crypto
