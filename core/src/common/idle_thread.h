// Slow CPU work (a password hash) next to latency-sensitive work (a web
// server worker serving authenticated requests). The hash runs on a helper
// thread at SCHED_IDLE, so the scheduler preempts it the moment a server
// thread has something to do, while the calling thread waits without
// spending CPU. The caller keeps its own priority: an unprivileged thread
// that lowered itself could never raise itself again (sched(7)), and an
// nginx pool thread may also serve `aio threads`.
#pragma once

#include <functional>

namespace edgeidp {

// run_at_idle_priority runs fn on a new thread with the SCHED_IDLE policy
// and waits for it. If no thread can be made, or the policy cannot be set,
// fn still runs (inline, or at normal priority): a login is never lost for
// want of a priority. An exception from fn is rethrown here.
void run_at_idle_priority(const std::function<void()> &fn);

}  // namespace edgeidp
