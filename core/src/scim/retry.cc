#include "scim/retry.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace edgeidp::scim {

std::int64_t retry_after_ms(std::string_view value, std::int64_t now_unix) {
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    return -1;
  }
  std::int64_t secs = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (ec == std::errc() && end == value.data() + value.size()) {
    return secs < 0 ? -1 : std::min<std::int64_t>(secs, 86400) * 1000;
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const std::string text(value);
  const char *rest = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') {
    return -1;
  }
  const std::int64_t at = static_cast<std::int64_t>(timegm(&tm));
  return at <= now_unix ? 0 : std::min<std::int64_t>(at - now_unix, 86400) * 1000;
}

std::int64_t backoff_ms(int attempts, const RetryPolicy &policy, double jitter) {
  std::int64_t d = policy.base_delay_ms;
  for (int i = 1; i < attempts && d < policy.max_delay_ms; ++i) {
    d *= 2;
  }
  d = std::min(d, policy.max_delay_ms);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return d / 2 + static_cast<std::int64_t>(static_cast<double>(d / 2) * jitter);
}

Decision decide(long status, std::string_view retry_after, int attempts, const RetryPolicy &policy,
                double jitter, std::int64_t now_unix) {
  Decision d;
  if (status >= 200 && status < 300) {
    d.outcome = Outcome::success;
    return d;
  }
  const bool throttled = status == 429;
  const bool transient = throttled || status == 0 || status >= 500;
  if (!transient) {
    d.outcome = Outcome::fail;  // 4xx: the same request would fail again
    return d;
  }
  d.throttled = throttled;
  if (attempts >= policy.max_attempts) {
    d.outcome = Outcome::fail;
    return d;
  }
  d.outcome = Outcome::retry;
  d.delay_ms = backoff_ms(attempts, policy, jitter);
  if (throttled || status == 503) {
    const std::int64_t ra = retry_after_ms(retry_after, now_unix);
    if (ra >= 0) {
      d.delay_ms = std::min(ra, policy.max_retry_after_ms);
    }
  }
  return d;
}

}  // namespace edgeidp::scim
