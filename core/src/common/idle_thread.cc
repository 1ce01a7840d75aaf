#include "common/idle_thread.h"

#include <sched.h>

#include <exception>
#include <system_error>
#include <thread>

namespace edgeidp {

void run_at_idle_priority(const std::function<void()> &fn) {
  std::exception_ptr failure;
  std::thread helper;
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
  } catch (const std::system_error &) {
    fn();  // no thread to be had (EAGAIN): do the work here
    return;
  }
  helper.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

}  // namespace edgeidp
