#include "common/strings.h"

#include <ctime>

#include <openssl/evp.h>

namespace edgeidp {

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                                reinterpret_cast<const unsigned char *>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

namespace {

int b64_value(unsigned char c, bool url) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == (url ? '-' : '+')) {
    return 62;
  }
  if (c == (url ? '_' : '/')) {
    return 63;
  }
  return -1;
}

// Decodes groups of four; 'pad' allows trailing '=' and 'space' skips white
// space. Rejects bits left over in the last group (non-canonical input).
std::optional<std::string> b64_decode(std::string_view text, bool url, bool space,
                                      std::size_t max_out) {
  std::string out;
  out.reserve(std::min(max_out, text.size() * 3 / 4 + 3));
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pads = 0;
  for (const unsigned char c : text) {
    if (space && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
      continue;
    }
    if (c == '=' && !url) {
      ++pads;
      continue;
    }
    if (pads != 0) {
      return std::nullopt;  // data after padding
    }
    const int v = b64_value(c, url);
    if (v < 0) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= max_out) {
        return std::nullopt;
      }
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
    return std::nullopt;
  }
  if (pads > 2 || (pads != 0 && (out.size() + pads) % 3 != 0)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

Result<std::string> base64_decode(std::string_view text, std::size_t max_out) {
  auto out = b64_decode(text, false, true, max_out);
  if (!out) {
    return make_error(Errc::invalid,
                      "invalid base64 or decoded data over " + std::to_string(max_out) + " bytes");
  }
  return std::move(*out);
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (char &c : out) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return b64_decode(text, true, false, text.size());
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string iso8601(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace edgeidp
