#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "common/file.h"
#include "common/idle_thread.h"
#include "common/strings.h"
#include "test_util.h"

using namespace edgeidp;

static void base64_round_trip(void **) {
  const std::string raw("\x00\x01\xfe\xff hello", 10);
  const std::string enc = base64_encode(raw);
  auto dec = base64_decode(enc, 100);
  assert_true(dec.ok());
  assert_true(*dec == raw);
  // Line breaks are allowed (SAML bindings wrap base64).
  auto wrapped = base64_decode("aGVs\r\nbG8=", 100);
  assert_true(wrapped.ok() && *wrapped == "hello");
}

static void base64_rejects_garbage(void **) {
  assert_false(base64_decode("aGVsbG8*", 100).ok());
  assert_false(base64_decode("aGVsbG8=x", 100).ok());  // data after padding
  assert_false(base64_decode("aGVsbG9=", 100).ok());   // non-zero trailing bits
  assert_false(base64_decode("aGVsbG8=", 3).ok());     // over the output limit
  assert_false(base64_decode("a", 100).ok());
}

static void base64url(void **) {
  const std::string raw("\xfb\xff\xfe", 3);
  assert_string_equal(base64url_encode(raw).c_str(), "-__-");
  auto dec = base64url_decode("-__-");
  assert_true(dec.has_value() && *dec == raw);
  assert_false(base64url_decode("+//+").has_value());
}

static void html_escaping(void **) {
  assert_string_equal(html_escape("<a href=\"x\">'&'</a>").c_str(),
                      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

static void utf8_validation(void **) {
  assert_true(is_valid_utf8("plain"));
  assert_true(is_valid_utf8("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80"));
  assert_false(is_valid_utf8("\xc0\xaf"));      // overlong '/'
  assert_false(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  assert_false(is_valid_utf8("\xe2\x82"));      // truncated
  assert_false(is_valid_utf8("\xff"));
}

static void iso8601_format(void **) {
  assert_string_equal(iso8601(0).c_str(), "1970-01-01T00:00:00Z");
  assert_string_equal(iso8601(1795435200).c_str(), "2026-11-23T12:00:00Z");
}

struct SecretOutcome {
  bool private_ok;
  bool group_readable_refused;
  bool missing_is_io;
  std::string message;
};

static SecretOutcome secret_files() {
  SecretOutcome out{};
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/token";
  out.private_ok = write_file_atomic(path, "s3cret", 0600).ok() && read_secret_file(path).ok();
  ::chmod(path.c_str(), 0640);
  auto r = read_secret_file(path);
  out.group_readable_refused = !r.ok() && r.error().code == Errc::permission;
  if (!r.ok()) {
    out.message = r.error().message;
  }
  auto missing = read_secret_file(dir + "/absent");
  out.missing_is_io = !missing.ok() && missing.error().code == Errc::io;
  test::remove_tree(dir);
  return out;
}

static void secret_file_permissions(void **) {
  const SecretOutcome o = secret_files();
  assert_true(o.private_ok);
  assert_true(o.group_readable_refused);
  assert_true(test::contains(o.message, "0640"));
  assert_true(test::contains(o.message, "chmod 600"));
  assert_true(o.missing_is_io);
}

static void relative_paths(void **) {
  assert_string_equal(resolve_path("/etc/edgeidp/edgeidp.toml", "dir.toml").c_str(),
                      "/etc/edgeidp/dir.toml");
  assert_string_equal(resolve_path("/etc/edgeidp/edgeidp.toml", "/abs").c_str(), "/abs");
  assert_string_equal(resolve_path("edgeidp.toml", "dir.toml").c_str(), "dir.toml");
}

// The hash helper: runs the work on another thread, at SCHED_IDLE, waits
// for it, and hands back its exception.
static void idle_priority_helper(void **) {
  const auto caller = std::this_thread::get_id();
  const int caller_policy = sched_getscheduler(0);
  std::thread::id worker;
  int policy = -1;
  run_at_idle_priority([&] {
    worker = std::this_thread::get_id();
    policy = sched_getscheduler(0);
  });
  assert_true(worker != caller);
  assert_int_equal(policy, SCHED_IDLE);
  assert_int_equal(sched_getscheduler(0), caller_policy);  // the caller kept its own

  bool thrown = false;
  try {
    run_at_idle_priority([] { throw std::runtime_error("from the helper"); });
  } catch (const std::runtime_error &e) {
    thrown = std::string(e.what()) == "from the helper";
  }
  assert_true(thrown);
}

// The lane: work from many callers runs at SCHED_IDLE, at most as many
// pieces at once as the callers may use CPUs.
namespace {

int most_at_once(bool pin) {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  sched_getaffinity(0, sizeof mine, &mine);
  int first = 0;
  while (!CPU_ISSET(first, &mine)) {
    ++first;
  }
  IdleLane lane;
  std::atomic<int> inside{0}, most{0}, idle_runs{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&] {
      if (pin) {  // like a pool thread of a worker pinned to one CPU
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        sched_setaffinity(0, sizeof one, &one);
      }
      lane.run([&] {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (sched_getscheduler(0) == SCHED_IDLE) {
          ++idle_runs;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --inside;
      });
    });
  }
  for (auto &t : callers) {
    t.join();
  }
  return idle_runs.load() == 6 ? most.load() : -1;
}

}  // namespace

static void idle_lane_width_is_the_callers_cpus(void **) {
  assert_int_equal(most_at_once(true), 1);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  sched_getaffinity(0, sizeof mine, &mine);
  const int unpinned = most_at_once(false);
  assert_true(unpinned >= 1 && unpinned <= CPU_COUNT(&mine));
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base64_round_trip),
      cmocka_unit_test(base64_rejects_garbage),
      cmocka_unit_test(base64url),
      cmocka_unit_test(html_escaping),
      cmocka_unit_test(utf8_validation),
      cmocka_unit_test(iso8601_format),
      cmocka_unit_test(secret_file_permissions),
      cmocka_unit_test(relative_paths),
      cmocka_unit_test(idle_priority_helper),
      cmocka_unit_test(idle_lane_width_is_the_callers_cpus),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
