#include "portal/http.h"

#include <algorithm>

namespace edgeidp::portal {
namespace {

constexpr std::size_t kMaxCookieHeader = 16384;

int hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

char fold(char c) {
  if (c >= 'A' && c <= 'Z') {
    return static_cast<char>(c + 32);
  }
  return c == '_' ? '-' : c;
}

}  // namespace

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  if (header.size() > kMaxCookieHeader) {
    header = header.substr(0, kMaxCookieHeader);
  }
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      return v;
    }
    if (semi == std::string_view::npos) {
      break;
    }
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> without_cookies(std::string_view header,
                                                const std::vector<std::string> &names,
                                                std::string &storage) {
  // Calls keep(pair, drops so far) for each trimmed "name=value" not
  // called one of 'names'; returns how many were left out.
  const auto scan = [&](auto &&keep) {
    std::size_t dropped = 0;
    std::size_t pos = 0;
    while (pos <= header.size()) {
      const std::size_t semi = std::min(header.find(';', pos), header.size());
      const std::string_view pair = trim(header.substr(pos, semi - pos));
      if (!pair.empty()) {
        const std::string_view name = trim(pair.substr(0, pair.find('=')));
        if (std::find(names.begin(), names.end(), name) != names.end()) {
          ++dropped;
        } else {
          keep(pair, dropped);
        }
      }
      pos = semi + 1;
    }
    return dropped;
  };
  // First pass: the span from the first kept cookie to the last, and
  // whether one of ours lies inside it (then the kept ones are copied).
  const char *first = nullptr;
  const char *last = nullptr;
  bool gap = false;
  std::size_t dropped_before = 0;  // drops before the previous kept pair
  const std::size_t dropped = scan([&](std::string_view pair, std::size_t dropped_so_far) {
    gap = gap || (first != nullptr && dropped_so_far != dropped_before);
    dropped_before = dropped_so_far;
    first = first != nullptr ? first : pair.data();
    last = pair.data() + pair.size();
  });
  if (dropped == 0) {
    return std::nullopt;
  }
  if (first == nullptr) {
    return std::string_view();
  }
  if (!gap) {
    return std::string_view(first, static_cast<std::size_t>(last - first));
  }
  storage.clear();
  scan([&](std::string_view pair, std::size_t) {
    storage.append(storage.empty() ? "" : "; ").append(pair);
  });
  return std::string_view(storage);
}

std::optional<std::string> percent_decode(std::string_view in, bool plus) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      const int hi = hex(in[i + 1]);
      const int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    if (c == '\0') {
      return std::nullopt;
    }
    out += c;
  }
  return out;
}

std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : in) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<Fields> parse_form(std::string_view in, std::size_t max_fields) {
  Fields out;
  while (!in.empty()) {
    const std::size_t amp = in.find('&');
    const std::string_view pair = in.substr(0, amp);
    if (!pair.empty()) {
      if (out.size() >= max_fields) {
        return std::nullopt;
      }
      const std::size_t eq = pair.find('=');
      auto name = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!name || !value) {
        return std::nullopt;
      }
      for (const auto &f : out) {
        if (f.first == *name) {
          return std::nullopt;
        }
      }
      out.emplace_back(std::move(*name), std::move(*value));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    in.remove_prefix(amp + 1);
  }
  return out;
}

const std::string *field(const Fields &fields, std::string_view name) {
  for (const auto &f : fields) {
    if (f.first == name) {
      return &f.second;
    }
  }
  return nullptr;
}

std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions &opts) {
  std::string out;
  out.append(name).append("=").append(value).append("; Path=").append(opts.path);
  if (opts.max_age >= 0) {
    out += "; Max-Age=" + std::to_string(opts.max_age);
  }
  if (opts.secure) {
    out += "; Secure";
  }
  if (opts.http_only) {
    out += "; HttpOnly";
  }
  out += "; SameSite=Lax";
  return out;
}

bool is_api_request(std::string_view accept, std::string_view sec_fetch_mode,
                    std::string_view x_requested_with) {
  if (!x_requested_with.empty()) {
    return true;
  }
  if (!sec_fetch_mode.empty() && sec_fetch_mode != "navigate" &&
      sec_fetch_mode != "nested-navigate") {
    return true;
  }
  // No Accept at all (curl's default is */*) counts as a navigation, so a
  // plain link check follows the redirect like a browser would.
  return !accept.empty() && accept.find("text/html") == std::string_view::npos &&
         accept.find("*/*") == std::string_view::npos;
}

bool header_has_prefix(std::string_view name, std::string_view prefix) {
  if (name.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (fold(name[i]) != fold(prefix[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace edgeidp::portal
