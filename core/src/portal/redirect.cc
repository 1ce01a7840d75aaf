#include "portal/redirect.h"

#include "portal/http.h"

namespace edgeidp::portal {
namespace {

constexpr std::size_t kMaxReturnPath = 2048;

bool plain_path_ok(std::string_view p) {
  if (p.empty() || p[0] != '/' || (p.size() > 1 && (p[1] == '/' || p[1] == '\\'))) {
    return false;
  }
  for (const char c : p) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_safe_return_path(std::string_view path) {
  if (path.size() > kMaxReturnPath || !plain_path_ok(path)) {
    return false;
  }
  // Decode twice: an upstream or a browser may decode once more than we do.
  auto once = percent_decode(path, false);
  if (!once || !plain_path_ok(*once)) {
    return false;
  }
  auto twice = percent_decode(*once, false);
  return !twice || plain_path_ok(*twice);
}

}  // namespace edgeidp::portal
