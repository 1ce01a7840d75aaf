// bcrypt as in OpenBSD's bcrypt.c (Provos and Mazières, "A Future-Adaptable
// Password Scheme", 1999): EksBlowfishSetup, then 64 encryptions of
// "OrpheanBeholderScryDoubt".
#include "auth/bcrypt.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <crypt.h>
#include <openssl/crypto.h>

#include "auth/blowfish_pi.h"

namespace edgeidp::auth {
namespace {

constexpr std::string_view kAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kSaltChars = 22;
constexpr std::size_t kSettingChars = 7 + kSaltChars;  // "$2b$10$" + salt
constexpr std::size_t kMaxKey = 72;                    // bytes of password used

// A byte stream read in big-endian 32-bit words, wrapping around at its end
// (Blowfish_stream2word).
class Stream {
 public:
  Stream(const std::uint8_t *data, std::size_t len) : data_(data), len_(len) {}
  std::uint32_t next() {
    std::uint32_t w = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_ >= len_) {
        at_ = 0;
      }
      w = (w << 8) | data_[at_++];
    }
    return w;
  }

 private:
  const std::uint8_t *data_;
  std::size_t len_;
  std::size_t at_ = 0;
};

struct Blowfish {
  std::array<std::uint32_t, 18> p = kPiP;
  std::array<std::uint32_t, 1024> s = kPiS;

  ~Blowfish() { OPENSSL_cleanse(this, sizeof *this); }  // derived from the password

  std::uint32_t f(std::uint32_t x) const {
    return ((s[x >> 24] + s[256 + ((x >> 16) & 0xff)]) ^ s[512 + ((x >> 8) & 0xff)]) +
           s[768 + (x & 0xff)];
  }

  void encipher(std::uint32_t &l, std::uint32_t &r) const {
    std::uint32_t xl = l ^ p[0], xr = r;
#pragma GCC unroll 8
    for (int i = 1; i < 17; i += 2) {
      xr ^= f(xl) ^ p[i];
      xl ^= f(xr) ^ p[i + 1];
    }
    l = xr ^ p[17];
    r = xl;
  }

  // ExpandKey(state, salt, key); with salt == nullptr the data words are
  // zero (Blowfish_expand0state).
  void expand(Stream key, Stream *salt) {
    for (auto &w : p) {
      w ^= key.next();
    }
    std::uint32_t l = 0, r = 0;
    auto fill = [&](std::uint32_t *out, std::size_t n) {
      for (std::size_t i = 0; i < n; i += 2) {
        if (salt != nullptr) {
          l ^= salt->next();
          r ^= salt->next();
        }
        encipher(l, r);
        out[i] = l;
        out[i + 1] = r;
      }
    };
    fill(p.data(), p.size());
    fill(s.data(), s.size());
  }
};

int decode_char(char c) {
  const auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// bcrypt's base64: RFC 4648's bit order with its own alphabet, no padding.
std::string encode(const std::uint8_t *in, std::size_t len) {
  std::string out;
  for (std::size_t i = 0; i < len; i += 3) {
    const std::uint32_t b0 = in[i];
    const std::uint32_t b1 = i + 1 < len ? in[i + 1] : 0;
    const std::uint32_t b2 = i + 2 < len ? in[i + 2] : 0;
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[((b0 & 3) << 4) | (b1 >> 4)];
    if (i + 1 < len) {
      out += kAlphabet[((b1 & 0xf) << 2) | (b2 >> 6)];
    }
    if (i + 2 < len) {
      out += kAlphabet[b2 & 0x3f];
    }
  }
  return out;
}

// 22 characters to 16 bytes; the last character's low 4 bits are unused.
bool decode_salt(std::string_view text, std::array<std::uint8_t, kSaltBytes> &out) {
  std::uint32_t bits = 0;
  int nbits = 0;
  std::size_t n = 0;
  for (const char c : text) {
    const int v = decode_char(c);
    if (v < 0) {
      return false;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    nbits += 6;
    if (nbits >= 8 && n < out.size()) {
      nbits -= 8;
      out[n++] = static_cast<std::uint8_t>(bits >> nbits);
    }
  }
  return n == out.size();
}

bool seven_bit(std::string_view s) {
  for (const unsigned char c : s) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> bcrypt_hash(std::string_view setting, std::string_view password,
                                       Pause pause) {
  // libxcrypt refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE bytes or
  // more, and a C string ends at its first NUL.
  if (password.size() >= CRYPT_MAX_PASSPHRASE_SIZE || password.find('\0') != password.npos) {
    return std::nullopt;
  }
  if (setting.size() < kSettingChars || setting.substr(0, 2) != "$2" || setting[3] != '$' ||
      setting[6] != '$') {
    return std::nullopt;
  }
  const char minor = setting[2];
  // $2a$ differs from the other two only for 8-bit passwords (libxcrypt's
  // countermeasure for an old sign-extension bug): leave those to it.
  if (minor != 'b' && minor != 'y' && !(minor == 'a' && seven_bit(password))) {
    return std::nullopt;
  }
  if (setting[4] < '0' || setting[4] > '9' || setting[5] < '0' || setting[5] > '9') {
    return std::nullopt;
  }
  const int cost = (setting[4] - '0') * 10 + (setting[5] - '0');
  std::array<std::uint8_t, kSaltBytes> salt{};
  if (cost < 4 || cost > 31 || !decode_salt(setting.substr(7, kSaltChars), salt)) {
    return std::nullopt;
  }
  // What follows the salt (a stored hash) is not read, but libxcrypt refuses
  // a setting with bytes it cannot hold; leave anything unusual to it.
  if (setting.substr(kSettingChars).find_first_not_of(kAlphabet) != std::string_view::npos) {
    return std::nullopt;
  }

  // The key is the password and its terminating NUL, of which Blowfish's 18
  // key words take the first 72 bytes.
  std::array<std::uint8_t, kMaxKey> key{};
  const std::size_t used = std::min(password.size(), kMaxKey);
  std::copy_n(password.begin(), used, key.begin());
  const std::size_t key_len = std::min(password.size() + 1, kMaxKey);

  Blowfish bf;
  Stream salt_words(salt.data(), salt.size());
  bf.expand(Stream(key.data(), key_len), &salt_words);
  const std::uint64_t rounds = std::uint64_t{1} << cost;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    bf.expand(Stream(key.data(), key_len), nullptr);
    bf.expand(Stream(salt.data(), salt.size()), nullptr);
    if (pause != nullptr) {
      pause();
    }
  }
  OPENSSL_cleanse(key.data(), key.size());

  constexpr std::string_view kMagic = "OrpheanBeholderScryDoubt";
  std::array<std::uint32_t, 6> text{};
  Stream magic(reinterpret_cast<const std::uint8_t *>(kMagic.data()), kMagic.size());
  for (auto &w : text) {
    w = magic.next();
  }
  for (int i = 0; i < 64; ++i) {
    for (std::size_t j = 0; j < text.size(); j += 2) {
      bf.encipher(text[j], text[j + 1]);
    }
  }
  std::array<std::uint8_t, 24> out{};
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (int b = 0; b < 4; ++b) {
      out[4 * i + b] = static_cast<std::uint8_t>(text[i] >> (24 - 8 * b));
    }
  }
  // The salt is written back in canonical form, as libxcrypt does.
  std::string hash;
  hash.reserve(60);  // no reallocation leaves copies behind
  hash.append(setting.substr(0, 7));
  hash += encode(salt.data(), salt.size());
  hash += encode(out.data(), out.size() - 1);  // 23 bytes: bcrypt drops the last
  OPENSSL_cleanse(out.data(), out.size());
  OPENSSL_cleanse(text.data(), sizeof text);
  return hash;
}

}  // namespace edgeidp::auth
