#include "common/idle_thread.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <exception>
#include <thread>

namespace edgeidp {

void run_at_idle_priority(const std::function<void()> &fn) {
  std::exception_ptr failure;
  std::thread helper;
  // The helper starts with every signal blocked (restored here at once):
  // signals for the server process (an httpd prefork child's SIGTERM) must
  // go to its own threads, never to a helper in the middle of a hash.
  sigset_t all, old;
  sigfillset(&all);
  const bool masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  try {
    helper = std::thread([&fn, &failure] {
      const sched_param param{};
      // Linux applies pid 0 to the calling thread. A failure leaves the
      // thread at the caller's priority, which is what it ran at before.
      (void)sched_setscheduler(0, SCHED_IDLE, &param);
      try {
        fn();
      } catch (...) {
        failure = std::current_exception();
      }
    });
  } catch (...) {  // no thread to be had (EAGAIN, no memory)
  }
  if (masked) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  if (!helper.joinable()) {
    fn();  // do the work here, at the caller's priority
    return;
  }
  helper.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

namespace {

unsigned long long usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return n > 0 ? static_cast<unsigned long long>(n) : 1;
}

}  // namespace

void IdleLane::run(const std::function<void()> &fn) {
  const unsigned long long width = usable_cpus();
  std::unique_lock lock(mu_);
  // Tickets in arrival order; ticket t may run once all but width - 1 of
  // the tickets before it have finished. Pieces finish in any order, so
  // this bounds how many run rather than naming which.
  const unsigned long long ticket = issued_++;
  turn_.wait(lock, [&] { return ticket < finished_ + width; });
  lock.unlock();
  struct Finish {
    IdleLane &lane;
    ~Finish() {
      const std::lock_guard done(lane.mu_);
      ++lane.finished_;
      lane.turn_.notify_all();
    }
  } finish{*this};
  run_at_idle_priority(fn);
}

void give_way() {
  (void)sched_yield();
}

}  // namespace edgeidp
