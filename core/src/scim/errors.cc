#include "scim/errors.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace edgeidp::scim {
namespace {

constexpr std::size_t kMaxDetail = 300;

std::string clip(std::string s) {
  if (s.size() > kMaxDetail) {
    s.resize(kMaxDetail);
    s.append(3, '.');
  }
  for (char &c : s) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  return s;
}

std::string string_field(const nlohmann::json &j, const char *key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ScimError parse_error_body(std::string_view body) {
  ScimError e;
  const auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return e;
  }
  if (const auto it = j.find("status"); it != j.end()) {
    if (it->is_number_integer()) {
      e.status = it->get<int>();
    } else if (it->is_string()) {
      const std::string s = it->get<std::string>();
      int v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size()) {
        e.status = v;
      }
    }
  }
  e.detail = clip(string_field(j, "detail"));
  e.type = clip(string_field(j, "scimType"));
  if (e.type.empty()) {
    e.type = clip(string_field(j, "__type"));
  }
  e.request_id = clip(string_field(j, "exceptionRequestId"));
  return e;
}

std::string describe_failure(long http_status, std::string_view body) {
  const ScimError e = parse_error_body(body);
  std::string out = "HTTP " + std::to_string(http_status);
  if (!e.type.empty()) {
    out += " (" + e.type + ")";
  }
  if (!e.detail.empty()) {
    out += ": " + e.detail;
  }
  if (!e.request_id.empty()) {
    out += " [request " + e.request_id + "]";
  }
  return out;
}

}  // namespace edgeidp::scim
