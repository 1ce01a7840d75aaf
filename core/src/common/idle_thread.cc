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

void give_way() {
  (void)sched_yield();
}

}  // namespace edgeidp
