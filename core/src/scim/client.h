// A SCIM HTTP client on one libcurl multi handle: a fixed pool of easy
// handles (so connections are reused), at most max_in_flight requests at
// once, retries with backoff and jitter, and a client-wide pause when the
// server throttles (AWS's limit is per tenant, not per request).
//
// Single-threaded: run() drives everything and calls each request's
// completion on the calling thread, which may submit more requests.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "scim/handles.h"
#include "scim/retry.h"

namespace edgeidp::scim {

struct Request {
  std::string method;  // GET POST PUT PATCH DELETE
  std::string path;    // below the endpoint, e.g. "/Users/abc"
  std::string body;
};

struct Response {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::string error;  // transport error text; never holds the token
  int attempts = 0;
  bool cancelled = false;  // the client was stopped before an answer
};

struct ClientOptions {
  std::string endpoint;  // no trailing '/'
  std::string token;
  std::string ca_file;
  int max_in_flight = 8;
  long timeout_s = 30;
  RetryPolicy retry;
  std::function<std::int64_t()> now_ms;    // monotonic milliseconds
  std::function<std::int64_t()> now_unix;  // for Retry-After dates
  std::function<double()> jitter;          // [0, 1)
  std::function<bool()> stop;              // checked between events
};

struct ClientStats {
  std::int64_t requests = 0;  // every attempt that was sent
  std::int64_t retries = 0;
  std::int64_t throttles = 0;
  std::map<std::string, std::int64_t> by_method;
};

class Client {
 public:
  using Done = std::function<void(const Response &)>;

  static Result<std::unique_ptr<Client>> create(ClientOptions opts);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  void submit(Request req, Done done);
  // run returns when every submitted request has completed, or when stop()
  // says so (then the rest complete with cancelled = true).
  void run();
  const ClientStats &stats() const { return stats_; }

 private:
  struct Job {
    Request req;
    Done done;
    int attempts = 0;
    std::int64_t not_before = 0;
  };
  struct Slot;

  explicit Client(ClientOptions opts);
  Status init();
  void start(Slot &slot, Job job);
  void finish(Slot &slot, CURLcode result);
  void cancel_all();
  std::int64_t now() const;

  ClientOptions opts_;
  CurlMulti multi_;
  Owned<curl_slist> headers_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Job> ready_;
  std::multimap<std::int64_t, Job> waiting_;  // by not_before
  std::int64_t paused_until_ = 0;
  int in_flight_ = 0;
  ClientStats stats_;
};

// eq_filter_query: "?filter=" + url-encoded `attr eq "value"`, quotes and
// backslashes in value escaped. AWS supports no other operator.
std::string eq_filter_query(const std::string &attribute, const std::string &value);

}  // namespace edgeidp::scim
