// edgeidp scim plan|sync|watch|status: pushes the directory to AWS IAM
// Identity Center (or any SCIM 2.0 server with AWS's rules) for every
// [[scim]] target in the config.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <vector>

#include "args.h"
#include "config/config.h"
#include "directory/directory.h"
#include "scim/client.h"
#include "scim/plan.h"
#include "scim/resource.h"
#include "scim/state.h"
#include "scim/sync.h"

namespace edgeidp::worker {

int cmd_scim(const std::vector<std::string> &argv);  // called from main.cc

namespace {

constexpr int kExitChanges = 3;  // plan: something would change
constexpr std::int64_t kTokenLifetime = 365 * 86400;
constexpr std::int64_t kTokenWarnDays = 90;  // AWS starts reminding at 90 days

constexpr const char *kUsage =
    "usage: edgeidp scim plan|sync|watch|status -c FILE [--target NAME]\n"
    "  plan    print what sync would change; exit 0 nothing, 3 changes, 1 error\n"
    "  sync    apply the changes; exit 1 if any request failed\n"
    "  watch   sync now, whenever the directory or config changes, and every\n"
    "          reconcile_interval seconds; stops on SIGTERM\n"
    "  status  last run, counts, failures, token expiry\n"
    "  --force         allow a sync that deprovisions more than half the users\n";

void log_line(const std::string &target, const std::string &msg) {
  std::fprintf(stderr, "edgeidp scim[%s]: %s\n", target.c_str(), msg.c_str());
  std::fflush(stderr);
}

struct Loaded {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const directory::Directory> directory;
};

// The SCIM worker never needs the SAML signing key, and may run as a user
// that cannot read it.
std::optional<Loaded> load(const std::string &path) {
  config::LoadOptions opts;
  opts.load_keys = false;
  auto cfg = config::load(path, opts);
  if (!cfg) {
    std::fprintf(stderr, "edgeidp scim: %s\n", cfg.error().describe().c_str());
    return std::nullopt;
  }
  auto dir = directory::Directory::load((*cfg)->directory.path);
  if (!dir) {
    std::fprintf(stderr, "edgeidp scim: %s\n", dir.error().describe().c_str());
    return std::nullopt;
  }
  return Loaded{std::move(*cfg), std::move(*dir)};
}

std::vector<const config::ScimTarget *> targets_of(const config::Config &cfg,
                                                   const std::string &only) {
  std::vector<const config::ScimTarget *> out;
  for (const auto &t : cfg.scim) {
    if (only.empty() || t.name == only) {
      out.push_back(&t);
    }
  }
  return out;
}

std::string format_time(std::int64_t t) {
  if (t == 0) {
    return "-";
  }
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The SAML NameID of the Identity Center app must equal the SCIM userName,
// or AWS cannot match a signed-in user to the provisioned one (seed 003).
std::string name_id_mismatch(const config::Config &cfg, const config::ScimTarget &t) {
  if (t.app.empty()) {
    return {};
  }
  const config::App *app = cfg.find_app(t.app);
  if (app == nullptr || app->name_id.source() == t.user.user_name.source()) {
    return {};
  }
  return "app " + app->name + " sends NameID \"" + app->name_id.source() +
         "\" but SCIM userName is \"" + t.user.user_name.source() +
         "\": Identity Center will not match them";
}

struct Prepared {
  std::unique_ptr<scim::State> state;
  scim::Snapshot snapshot;
  scim::Desired desired;
  scim::Plan plan;
};

// read_only (plan): a missing state file means "nothing pushed yet" and is
// not created.
std::optional<Prepared> prepare(const Loaded &l, const config::ScimTarget &t,
                                bool read_only = false) {
  if (read_only && ::access(t.state_file.c_str(), F_OK) != 0) {
    Prepared p;
    p.desired = scim::build_desired(t, *l.directory);
    p.plan = scim::make_plan(t, p.desired, p.snapshot);
    if (const std::string m = name_id_mismatch(*l.config, t); !m.empty()) {
      p.plan.notes.push_back("warning: " + m);
    }
    return p;
  }
  auto state = scim::State::open(t.state_file, t.name);
  if (!state) {
    log_line(t.name, state.error().describe());
    return std::nullopt;
  }
  auto snap = (*state)->load();
  if (!snap) {
    log_line(t.name, snap.error().describe());
    return std::nullopt;
  }
  Prepared p;
  p.state = std::move(*state);
  p.snapshot = std::move(*snap);
  p.desired = scim::build_desired(t, *l.directory);
  p.plan = scim::make_plan(t, p.desired, p.snapshot);
  if (const std::string m = name_id_mismatch(*l.config, t); !m.empty()) {
    p.plan.notes.push_back("warning: " + m);
  }
  return p;
}

std::size_t deprovisions(const scim::Plan &plan) {
  std::size_t n = 0;
  for (const auto &c : plan.users) {
    n += c.op == scim::Op::deactivate || c.op == scim::Op::remove ? 1 : 0;
  }
  return n;
}

// A broken or half-written directory must not wipe Identity Center (the
// ssosync lesson: a transient error caused deletions).
bool mass_deprovision(const Prepared &p) {
  const std::size_t n = deprovisions(p.plan);
  return n > 10 && n * 2 > p.snapshot.users.size();
}

int plan_target(const Loaded &l, const config::ScimTarget &t, bool &changes) {
  auto p = prepare(l, t, true);
  if (!p) {
    return 1;
  }
  std::printf("scim target %s (%s):\n", t.name.c_str(), t.endpoint.c_str());
  const std::string text = scim::format_plan(p->plan, p->desired, p->snapshot);
  std::fputs(text.c_str(), stdout);
  std::printf(
      "%zu user change(s), %zu group change(s), %zu membership change(s); "
      "at least %zu request(s)\n",
      p->plan.users.size(), p->plan.groups.size(), p->plan.members.size(), p->plan.min_requests());
  changes = changes || !p->plan.empty();
  return 0;
}

// sync_target applies the plan for one target. stop() is polled while
// requests are in flight (SIGTERM in watch mode).
int sync_target(const Loaded &l, const config::ScimTarget &t, bool force,
                const std::function<bool()> &stop) {
  auto p = prepare(l, t);
  if (!p) {
    return 1;
  }
  for (const auto &n : p->plan.notes) {
    log_line(t.name, n);
  }
  const std::int64_t started = static_cast<std::int64_t>(std::time(nullptr));
  scim::RunRecord run;
  run.started = started;
  run.mode = "sync";
  if (p->plan.empty()) {
    run.finished = started;
    run.summary = "no changes";
    auto id = p->state->begin_run(run);
    if (id) {
      (void)p->state->finish_run(*id, run);
    }
    log_line(t.name, "no changes");
    return 0;
  }
  if (mass_deprovision(*p) && !force) {
    log_line(t.name, "refusing to deprovision " + std::to_string(deprovisions(p->plan)) + " of " +
                         std::to_string(p->snapshot.users.size()) +
                         " users in one run; check the directory, then run "
                         "`edgeidp scim sync --force`");
    return 1;
  }
  // Read on every run: a rotated token file is used without a restart.
  auto token = config::read_scim_token(t);
  if (!token) {
    log_line(t.name, token.error().describe());
    return 1;
  }
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  scim::ClientOptions opts;
  opts.endpoint = t.endpoint;
  opts.token = std::move(*token);
  opts.ca_file = t.ca_file;
  opts.max_in_flight = static_cast<int>(t.max_in_flight);
  opts.timeout_s = static_cast<long>(t.timeout);
  opts.retry.max_attempts = static_cast<int>(t.max_attempts);
  opts.jitter = [&] {
    return dist(rng);
  };
  opts.stop = stop;
  auto client = scim::Client::create(std::move(opts));
  if (!client) {
    log_line(t.name, client.error().describe());
    return 1;
  }
  auto run_id = p->state->begin_run(run);
  if (!run_id) {
    log_line(t.name, run_id.error().describe());
    return 1;
  }
  (void)p->state->clear_failures();
  const auto report = scim::apply_plan(t, p->plan, p->snapshot, **client, *p->state, started,
                                       [&](const std::string &m) { log_line(t.name, m); });
  const auto &stats = (*client)->stats();
  run.finished = report.interrupted ? 0 : static_cast<std::int64_t>(std::time(nullptr));
  run.requests = stats.requests;
  run.retries = stats.retries;
  run.throttles = stats.throttles;
  run.failures = report.counts.failed;
  for (const auto &[method, n] : stats.by_method) {
    if (method != "GET") {
      run.writes += n;
    }
  }
  run.summary = scim::summary(report.counts);
  (void)p->state->finish_run(*run_id, run);
  log_line(t.name, std::string(report.interrupted ? "interrupted: " : "") + run.summary + "; " +
                       std::to_string(stats.requests) + " request(s), " +
                       std::to_string(stats.retries) + " retried, " +
                       std::to_string(stats.throttles) + " throttled");
  return report.counts.failed > 0 || report.interrupted ? 1 : 0;
}

int status_target(const config::ScimTarget &t, std::int64_t now) {
  std::printf("scim target %s\n  endpoint: %s\n  state: %s\n", t.name.c_str(), t.endpoint.c_str(),
              t.state_file.c_str());
  std::int64_t expires = t.token_expires;
  struct stat st {};
  if (expires == 0 && ::stat(t.token_file.c_str(), &st) == 0) {
    expires = static_cast<std::int64_t>(st.st_mtime) + kTokenLifetime;
  }
  int rc = 0;
  if (auto token = config::read_scim_token(t); !token) {
    std::printf("  token: unusable: %s\n", token.error().describe().c_str());
    rc = 1;
  } else if (expires != 0) {
    const std::int64_t days = (expires - now) / 86400;
    std::printf("  token: expires %s (%lld day(s) left%s)%s\n", format_time(expires).c_str(),
                static_cast<long long>(days), t.token_expires == 0 ? ", from the file's age" : "",
                days < kTokenWarnDays ? ": WARNING rotate it in the AWS console soon" : "");
  }
  auto state = scim::State::open(t.state_file, t.name);
  if (!state) {
    std::printf("  state: %s\n", state.error().describe().c_str());
    return 1;
  }
  if (auto snap = (*state)->load(); snap) {
    std::size_t members = 0;
    for (const auto &[g, m] : snap->members) {
      members += m.size();
    }
    std::printf("  managed: %zu user(s), %zu group(s), %zu membership(s)\n", snap->users.size(),
                snap->groups.size(), members);
  }
  auto last = (*state)->last_run();
  if (!last || !*last) {
    std::printf("  last run: never\n");
    return rc;
  }
  const auto &r = **last;
  std::printf("  last run: %s, %s\n", format_time(r.started).c_str(),
              r.finished == 0 ? "did not finish (killed or stopped)"
                              : ("finished " + format_time(r.finished)).c_str());
  std::printf("  result: %s\n", r.summary.c_str());
  std::printf("  requests: %lld (writes %lld, retries %lld, throttled %lld), failures: %lld\n",
              static_cast<long long>(r.requests), static_cast<long long>(r.writes),
              static_cast<long long>(r.retries), static_cast<long long>(r.throttles),
              static_cast<long long>(r.failures));
  if (auto fails = (*state)->failures(20); fails) {
    for (const auto &f : *fails) {
      std::printf("  error: %s: %s\n", f.object.c_str(), f.message.c_str());
    }
  }
  return rc;
}

// Watches the folders of the directory file and the config: editors and
// deploy tools replace files by rename, which a watch on the file itself
// would miss.
class Watcher {
 public:
  bool add(const std::string &file) {
    const auto slash = file.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : file.substr(0, slash);
    names_.push_back(slash == std::string::npos ? file : file.substr(slash + 1));
    return inotify_add_watch(fd_, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) >= 0;
  }
  int fd() const { return fd_; }
  // drain reads pending events; true if one concerns a watched file.
  bool drain() {
    bool hit = false;
    alignas(inotify_event) char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        return hit;
      }
      for (ssize_t at = 0; at < n;) {
        const auto *ev = reinterpret_cast<const inotify_event *>(buf + at);
        if (ev->len > 0) {
          const std::string name(ev->name);
          for (const auto &w : names_) {
            hit = hit || name == w;
          }
        }
        at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
  }
  Watcher() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~Watcher() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Watcher(const Watcher &) = delete;
  Watcher &operator=(const Watcher &) = delete;

 private:
  int fd_;
  std::vector<std::string> names_;
};

int watch(const std::string &path, const std::string &only, bool force) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    std::fprintf(stderr, "edgeidp scim watch: signalfd failed\n");
    return 1;
  }
  bool stopping = false;
  const auto stop = [&] {
    if (!stopping) {
      pollfd p{sfd, POLLIN, 0};
      stopping = ::poll(&p, 1, 0) > 0;
    }
    return stopping;
  };
  auto loaded = load(path);
  if (!loaded) {
    ::close(sfd);
    return 1;
  }
  Watcher watcher;
  if (watcher.fd() < 0 || !watcher.add(path) || !watcher.add(loaded->config->directory.path)) {
    std::fprintf(stderr, "edgeidp scim watch: cannot watch %s\n", path.c_str());
    ::close(sfd);
    return 1;
  }
  std::int64_t interval = 3600;
  for (const auto *t : targets_of(*loaded->config, only)) {
    interval = std::min(interval, t->reconcile_interval);
  }
  std::fprintf(stderr, "edgeidp scim watch: watching %s and %s, reconciling every %llds\n",
               path.c_str(), loaded->config->directory.path.c_str(),
               static_cast<long long>(interval));
  bool due = true;  // sync once at start
  auto last = std::chrono::steady_clock::now();
  while (!stop()) {
    if (due) {
      due = false;
      last = std::chrono::steady_clock::now();
      // Reload both files: a bad edit is reported and the last good state
      // on the server is left as it is.
      if (auto fresh = load(path)) {
        loaded = std::move(fresh);
        for (const auto *t : targets_of(*loaded->config, only)) {
          (void)sync_target(*loaded, *t, force, stop);
        }
      }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - last)
                             .count();
    const long long wait = std::max<long long>(0, interval * 1000 - elapsed);
    pollfd fds[2] = {{sfd, POLLIN, 0}, {watcher.fd(), POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(wait, 60000)));
    if (n > 0 && (fds[1].revents & POLLIN) != 0 && watcher.drain()) {
      // Let a burst of writes settle before reading the file.
      ::poll(nullptr, 0, 300);
      (void)watcher.drain();
      due = true;
    } else if (n == 0 && wait <= 60000) {
      due = true;
    }
  }
  std::fprintf(stderr, "edgeidp scim watch: stopping\n");
  ::close(sfd);
  return 0;
}

}  // namespace

int cmd_scim(const std::vector<std::string> &argv) {
  if (argv.empty() || argv[0] == "-h" || argv[0] == "--help") {
    std::fputs(kUsage, argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const std::string sub = argv[0];
  std::string err;
  const auto args = Args::parse({argv.begin() + 1, argv.end()}, {"--config", "--target", "--now"},
                                {"--force"}, {{"-c", "--config"}}, err);
  if (!args) {
    std::fprintf(stderr, "edgeidp scim: %s\n\n%s", err.c_str(), kUsage);
    return 2;
  }
  if (sub != "plan" && sub != "sync" && sub != "watch" && sub != "status") {
    std::fprintf(stderr, "edgeidp scim: unknown subcommand \"%s\"\n\n%s", sub.c_str(), kUsage);
    return 2;
  }
  const std::string path = config_path(*args);
  const std::string only = args->get("--target");
  if (sub == "watch") {
    return watch(path, only, args->has("--force"));
  }
  const auto loaded = load(path);
  if (!loaded) {
    return 1;
  }
  const auto targets = targets_of(*loaded->config, only);
  if (targets.empty()) {
    std::fprintf(stderr, "edgeidp scim: %s\n",
                 only.empty() ? "no [[scim]] target is configured"
                              : ("no [[scim]] target is named \"" + only + "\"").c_str());
    return 1;
  }
  int rc = 0;
  if (sub == "plan") {
    bool changes = false;
    for (const auto *t : targets) {
      rc = std::max(rc, plan_target(*loaded, *t, changes));
    }
    return rc != 0 ? rc : (changes ? kExitChanges : 0);
  }
  if (sub == "status") {
    std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    if (args->has("--now")) {
      now = std::atoll(args->get("--now").c_str());
    }
    for (const auto *t : targets) {
      rc = std::max(rc, status_target(*t, now));
    }
    return rc;
  }
  for (const auto *t : targets) {
    rc = std::max(rc, sync_target(*loaded, *t, args->has("--force"), nullptr));
  }
  return rc;
}

}  // namespace edgeidp::worker
