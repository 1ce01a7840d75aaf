// When to try a SCIM request again, and after how long. Pure functions of
// their inputs (time and jitter are passed in) so the unit tests can pin
// every delay.
#pragma once

#include <cstdint>
#include <string_view>

namespace edgeidp::scim {

struct RetryPolicy {
  int max_attempts = 6;              // first try included
  std::int64_t base_delay_ms = 500;  // doubled on each retry
  std::int64_t max_delay_ms = 30000;
  std::int64_t max_retry_after_ms = 300000;  // a longer Retry-After is capped
};

enum class Outcome { success, retry, fail };

struct Decision {
  Outcome outcome = Outcome::fail;
  std::int64_t delay_ms = 0;
  bool throttled = false;  // a 429: the whole client pauses, not just this request
};

// decide classifies one finished attempt. status is 0 on a transport error
// (connection refused or reset, timeout). attempts counts the tries made so
// far (1 after the first). jitter is in [0, 1).
Decision decide(long status, std::string_view retry_after, int attempts, const RetryPolicy &policy,
                double jitter, std::int64_t now_unix);

// retry_after_ms reads Retry-After: delta seconds or an HTTP date. -1 when
// absent or unreadable.
std::int64_t retry_after_ms(std::string_view value, std::int64_t now_unix);

// backoff_ms: exponential, capped, with "equal jitter" (half fixed, half
// random) so synchronised clients spread out but never retry instantly.
std::int64_t backoff_ms(int attempts, const RetryPolicy &policy, double jitter);

}  // namespace edgeidp::scim
