// How long a busy thread is kept off its CPU by SCHED_IDLE threads on the
// same CPU: the situation of a saturated nginx worker while password
// hashes run at idle priority. A "server" thread spins on CPU 0 and records
// every gap in its own progress; N "hash" threads, pinned to the same CPU
// at SCHED_IDLE, spin either without a break or calling give_way() every
// 50 µs (what the bcrypt check does between rounds).
//
//   tests/bench/idle_stall [seconds per case, default 5]
//
// Prints, per case, the number of gaps of 1 ms or more, the longest gap and
// the share of time lost, then ratios of time lost against the baseline
// (no hash threads) measured in the same run.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "common/idle_thread.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Gaps {
  long long over_1ms = 0;
  double longest_us = 0, lost_share = 0;
};

void pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  (void)sched_setaffinity(0, sizeof set, &set);
}

// Spins for 'seconds' and reports every gap over 20 µs between two reads
// of the clock: time when this thread did not run.
Gaps watch(double seconds) {
  Gaps g;
  const auto start = Clock::now();
  auto last = start;
  double lost_us = 0;
  while (std::chrono::duration<double>(last - start).count() < seconds) {
    const auto now = Clock::now();
    const double gap = std::chrono::duration<double, std::micro>(now - last).count();
    if (gap > 20) {
      lost_us += gap;
      g.over_1ms += gap >= 1000 ? 1 : 0;
      g.longest_us = std::max(g.longest_us, gap);
    }
    last = now;
  }
  g.lost_share = lost_us / (seconds * 1e6);
  return g;
}

Gaps run_case(int threads, bool give_way, double seconds) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> hashes;
  for (int i = 0; i < threads; ++i) {
    hashes.emplace_back([&stop, give_way] {
      pin_to_cpu0();
      const sched_param param{};
      (void)sched_setscheduler(0, SCHED_IDLE, &param);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto until = Clock::now() + std::chrono::microseconds(50);
        while (Clock::now() < until) {
        }
        if (give_way) {
          edgeidp::give_way();
        }
      }
    });
  }
  const Gaps g = watch(seconds);
  stop = true;
  for (auto &t : hashes) {
    t.join();
  }
  return g;
}

}  // namespace

int main(int argc, char **argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  pin_to_cpu0();
  struct Case {
    const char *name;
    int threads;
    bool give_way;
  };
  const Case cases[] = {{"baseline", 0, false},        {"idle_1", 1, false},
                        {"idle_1_give_way", 1, true},  {"idle_8", 8, false},
                        {"idle_8_give_way", 8, true},  {"idle_32", 32, false},
                        {"idle_32_give_way", 32, true}};
  double base = 0;
  std::vector<std::pair<const char *, double>> lost;
  for (const auto &c : cases) {
    const Gaps g = run_case(c.threads, c.give_way, seconds);
    std::printf("%-17s gaps>=1ms %6lld  longest %8.0f us  time lost %6.2f%%\n", c.name, g.over_1ms,
                g.longest_us, 100 * g.lost_share);
    std::fflush(stdout);
    if (c.threads == 0) {
      base = g.lost_share;
    } else {
      lost.emplace_back(c.name, g.lost_share);
    }
  }
  for (const auto &[name, share] : lost) {
    std::printf("ratio lost_%s/baseline %.2f\n", name, share / std::max(base, 1e-6));
  }
}
