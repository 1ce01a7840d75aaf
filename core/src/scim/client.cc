#include "scim/client.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <openssl/crypto.h>

namespace edgeidp::scim {

namespace {

constexpr std::size_t kMaxBody = 4u << 20;

size_t on_body(char *data, size_t size, size_t n, void *user) {
  auto *out = static_cast<std::string *>(user);
  const size_t len = size * n;
  if (out->size() + len > kMaxBody) {
    return 0;  // aborts the transfer: no SCIM answer is this large
  }
  out->append(data, len);
  return len;
}

size_t on_header(char *data, size_t size, size_t n, void *user) {
  const size_t len = size * n;
  static constexpr char kName[] = "retry-after:";
  constexpr size_t kNameLen = sizeof(kName) - 1;
  if (len > kNameLen && strncasecmp(data, kName, kNameLen) == 0) {
    *static_cast<std::string *>(user) = std::string(data + kNameLen, len - kNameLen);
  }
  return len;
}

}  // namespace

struct Client::Slot {
  CurlEasy easy;
  Job job;
  std::string body;
  std::string retry_after;
  std::string url;
  bool busy = false;
  char errbuf[CURL_ERROR_SIZE] = {};
};

Client::Client(ClientOptions opts) : opts_(std::move(opts)) {}

Client::~Client() {
  for (auto &s : slots_) {
    if (s->busy) {
      curl_multi_remove_handle(multi_.get(), s->easy.get());
    }
  }
}

Result<std::unique_ptr<Client>> Client::create(ClientOptions opts) {
  if (!opts.now_ms) {
    opts.now_ms = [] {
      return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count());
    };
  }
  if (!opts.now_unix) {
    opts.now_unix = [] {
      return static_cast<std::int64_t>(std::time(nullptr));
    };
  }
  if (!opts.jitter) {
    opts.jitter = [] {
      return 0.5;
    };
  }
  opts.max_in_flight = std::clamp(opts.max_in_flight, 1, 64);
  std::unique_ptr<Client> c(new Client(std::move(opts)));
  if (auto st = c->init(); !st) {
    return st.take_error();
  }
  return c;
}

Status Client::init() {
  multi_.reset(curl_multi_init());
  if (!multi_) {
    return make_error(Errc::internal, "curl_multi_init failed");
  }
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(opts_.max_in_flight));
  curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(opts_.max_in_flight));
  std::string auth = "Authorization: Bearer " + opts_.token;
  curl_slist *h = curl_slist_append(nullptr, auth.c_str());
  OPENSSL_cleanse(auth.data(), auth.size());
  OPENSSL_cleanse(opts_.token.data(), opts_.token.size());
  opts_.token.clear();
  if (h == nullptr) {
    return make_error(Errc::internal, "out of memory");
  }
  headers_.reset(h);
  for (const char *line :
       {"Content-Type: application/scim+json", "Accept: application/scim+json", "Expect:"}) {
    curl_slist *next = curl_slist_append(headers_.get(), line);
    if (next == nullptr) {
      return make_error(Errc::internal, "out of memory");
    }
  }
  for (int i = 0; i < opts_.max_in_flight; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->easy.reset(curl_easy_init());
    if (!slot->easy) {
      return make_error(Errc::internal, "curl_easy_init failed");
    }
    CURL *e = slot->easy.get();
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(e, CURLOPT_TIMEOUT, opts_.timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, std::min(opts_.timeout_s, 10L));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    // A redirect would carry the bearer token to another host.
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts_.ca_file.empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, opts_.ca_file.c_str());
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &slot->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &slot->retry_after);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, slot.get());
    curl_easy_setopt(e, CURLOPT_USERAGENT, "edgeidp-scim/0.1");
    slots_.push_back(std::move(slot));
  }
  return {};
}

std::int64_t Client::now() const {
  return opts_.now_ms();
}

void Client::submit(Request req, Done done) {
  Job job;
  job.req = std::move(req);
  job.done = std::move(done);
  ready_.push_back(std::move(job));
}

void Client::start(Slot &slot, Job job) {
  slot.job = std::move(job);
  slot.body.clear();
  slot.retry_after.clear();
  slot.errbuf[0] = '\0';
  slot.url = opts_.endpoint + slot.job.req.path;
  CURL *e = slot.easy.get();
  curl_easy_setopt(e, CURLOPT_URL, slot.url.c_str());
  const std::string &m = slot.job.req.method;
  if (m == "GET" || m == "DELETE") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m == "DELETE" ? "DELETE" : nullptr);
  } else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, slot.job.req.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(slot.job.req.body.size()));
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m == "POST" ? nullptr : m.c_str());
  }
  slot.busy = true;
  ++in_flight_;
  ++slot.job.attempts;
  ++stats_.requests;
  ++stats_.by_method[m];
  curl_multi_add_handle(multi_.get(), e);
}

void Client::finish(Slot &slot, CURLcode result) {
  curl_multi_remove_handle(multi_.get(), slot.easy.get());
  slot.busy = false;
  --in_flight_;
  Response resp;
  resp.attempts = slot.job.attempts;
  if (result == CURLE_OK) {
    curl_easy_getinfo(slot.easy.get(), CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.error = slot.errbuf[0] != '\0' ? slot.errbuf : curl_easy_strerror(result);
  }
  const Decision d = decide(resp.status, slot.retry_after, slot.job.attempts, opts_.retry,
                            opts_.jitter(), opts_.now_unix());
  if (d.throttled) {
    ++stats_.throttles;
  }
  Job job = std::move(slot.job);
  if (d.outcome == Outcome::retry) {
    ++stats_.retries;
    const std::int64_t at = now() + d.delay_ms;
    if (d.throttled) {
      paused_until_ = std::max(paused_until_, at);
    }
    job.not_before = at;
    waiting_.emplace(at, std::move(job));
    return;
  }
  resp.body = std::move(slot.body);
  job.done(resp);
}

void Client::cancel_all() {
  std::vector<Job> jobs;
  for (auto &s : slots_) {
    if (s->busy) {
      curl_multi_remove_handle(multi_.get(), s->easy.get());
      s->busy = false;
      jobs.push_back(std::move(s->job));
    }
  }
  in_flight_ = 0;
  for (auto &j : ready_) {
    jobs.push_back(std::move(j));
  }
  ready_.clear();
  for (auto &[at, j] : waiting_) {
    jobs.push_back(std::move(j));
  }
  waiting_.clear();
  Response r;
  r.cancelled = true;
  r.error = "stopped";
  for (auto &j : jobs) {
    j.done(r);
  }
}

void Client::run() {
  for (;;) {
    if (opts_.stop && opts_.stop()) {
      // Completions may submit follow-ups; keep cancelling until quiet.
      while (in_flight_ > 0 || !ready_.empty() || !waiting_.empty()) {
        cancel_all();
      }
      return;
    }
    const std::int64_t t = now();
    while (!waiting_.empty() && waiting_.begin()->first <= t) {
      ready_.push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    if (t >= paused_until_) {
      for (auto &s : slots_) {
        if (ready_.empty()) {
          break;
        }
        if (!s->busy) {
          Job job = std::move(ready_.front());
          ready_.pop_front();
          start(*s, std::move(job));
        }
      }
    }
    if (in_flight_ == 0 && ready_.empty() && waiting_.empty()) {
      return;
    }
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    int left = 0;
    bool finished_any = false;
    while (CURLMsg *msg = curl_multi_info_read(multi_.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      Slot *slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      const CURLcode result = msg->data.result;
      if (slot != nullptr) {
        finish(*slot, result);
        finished_any = true;
      }
    }
    if (finished_any) {
      continue;  // refill the freed slots (or return) before sleeping
    }
    // Sleep until a socket is ready, a retry is due, or a pause ends.
    std::int64_t wait = 1000;
    if (!waiting_.empty()) {
      wait = std::min(wait, waiting_.begin()->first - now());
    }
    if (!ready_.empty()) {
      wait = std::min(wait, paused_until_ > now() ? paused_until_ - now() : 0);
      if (in_flight_ == static_cast<int>(slots_.size()) && wait == 0) {
        wait = 1000;  // all slots busy: wait for one to finish
      }
    }
    if (wait > 0 || in_flight_ > 0) {
      curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(std::max<std::int64_t>(wait, 0)),
                      nullptr);
    }
  }
}

std::string eq_filter_query(const std::string &attribute, const std::string &value) {
  std::string escaped;
  for (char c : value) {
    if (c == '"' || c == '\\') {
      escaped += '\\';
    }
    escaped += c;
  }
  const std::string filter = attribute + " eq \"" + escaped + "\"";
  std::string out = "?filter=";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : filter) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace edgeidp::scim
