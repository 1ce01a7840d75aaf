// Slow CPU work (a password hash) next to latency-sensitive work (a web
// server worker serving authenticated requests). The hash runs on a helper
// thread at SCHED_IDLE, so the scheduler preempts it the moment a server
// thread wakes up with something to do, while the calling thread waits
// without spending CPU. The caller keeps its own priority: an unprivileged
// thread that lowered itself could never raise itself again (sched(7)), and
// an nginx pool thread may also serve `aio threads`.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

namespace edgeidp {

// run_at_idle_priority runs fn on a new thread with the SCHED_IDLE policy
// and waits for it. If no thread can be made, or the policy cannot be set,
// fn still runs (inline, or at normal priority): a login is never lost for
// want of a priority. An exception from fn is rethrown here.
void run_at_idle_priority(const std::function<void()> &fn);

// give_way lets any other runnable thread on this CPU go first. Work at
// idle priority calls it often (every ~50 µs): the scheduler preempts an
// idle thread at once when a server thread wakes up, but a server thread
// that never sleeps (a saturated worker) waits for the next tick while the
// idle thread has the CPU.
void give_way();

// IdleLane runs work at idle priority, as many pieces at a time as the
// caller may use CPUs (sched_getaffinity: one for a worker pinned with
// worker_cpu_affinity, whose pool threads inherit the pin), in the order
// the callers came. A SCHED_IDLE thread still gets a little of a CPU that
// a server thread keeps busy (weight 3 against 1024), in whole scheduler
// ticks: measured by tests/bench/idle_stall, one cost a busy thread ~1% of
// its time in 4 ms stalls, 32 cost 11% in stalls of up to 144 ms. Callers
// wait for their turn on their own threads.
class IdleLane {
 public:
  void run(const std::function<void()> &fn);

 private:
  std::mutex mu_;
  std::condition_variable turn_;
  unsigned long long issued_ = 0, finished_ = 0;  // tickets
};

}  // namespace edgeidp
