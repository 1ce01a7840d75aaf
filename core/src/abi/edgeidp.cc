// The C ABI (include/edgeidp/edgeidp.h) over portal::Gateway. Every entry
// point is noexcept and catches everything: no exception reaches nginx's or
// httpd's C frames.
#include "edgeidp/edgeidp.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include "common/idle_thread.h"
#include "portal/gateway.h"
#include "saml/library.h"

struct edgeidp_ctx {
  std::unique_ptr<edgeidp::portal::Gateway> gateway;
  // Shared with the tasks, which a pool thread may still run after the
  // server has freed the context.
  std::shared_ptr<edgeidp::IdleLane> idle_lane = std::make_shared<edgeidp::IdleLane>();
};

struct edgeidp_location {
  edgeidp::portal::Location loc;
};

struct edgeidp_task {
  std::unique_ptr<edgeidp::portal::LoginTask> task;
  std::shared_ptr<edgeidp::IdleLane> idle_lane;
};

namespace {

using edgeidp::portal::Decision;

// What an edgeidp_decision points into.
struct Holder {
  Decision decision;
  std::vector<edgeidp_header> headers;
  std::array<edgeidp_header, Decision::kMaxUpstream> upstream;
};

edgeidp_str str(std::string_view s) {
  return edgeidp_str{s.data(), s.size()};
}

std::string_view view(edgeidp_str s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.len);
}

void write_err(char *err, std::size_t err_len, const std::string &msg) {
  if (err != nullptr && err_len > 0) {
    std::snprintf(err, err_len, "%s", msg.c_str());
  }
}

std::vector<edgeidp_header> headers_of(const std::vector<std::pair<std::string, std::string>> &in) {
  std::vector<edgeidp_header> out;
  out.reserve(in.size());
  for (const auto &[k, v] : in) {
    out.push_back(edgeidp_header{str(k), str(v)});
  }
  return out;
}

// fill hands a Decision to C. On allocation failure the caller falls back
// to the static 500.
void fill(const edgeidp_ctx *ctx, edgeidp_decision *out, Decision d) {
  auto holder = std::make_unique<Holder>();
  holder->decision = std::move(d);
  Decision &x = holder->decision;
  holder->headers = headers_of(x.headers);
  for (std::size_t i = 0; i < x.nupstream; ++i) {
    holder->upstream[i] = edgeidp_header{str(x.upstream[i].name), str(x.upstream[i].value)};
  }
  *out = edgeidp_decision{};
  out->status = x.status;
  out->headers = holder->headers.data();
  out->nheaders = holder->headers.size();
  out->body = str(x.body);
  out->upstream = holder->upstream.data();
  out->nupstream = x.nupstream;
  out->cookie = str(x.upstream_cookie());
  out->user = str(x.user);
  out->email = str(x.email);
  out->name = str(x.name);
  out->groups = str(x.groups);
  out->log_level = x.log_level;
  out->log = str(x.log);
  if (x.task) {
    out->task = new edgeidp_task{std::move(x.task), ctx->idle_lane};
  }
  out->internal = holder.release();
}

// guarded runs an entry point's body; whatever it throws becomes a status
// (and, through on_error, the caller's error report), never a C++
// exception in the server's C frames.
template <class Body, class OnError>
edgeidp_status guarded(Body &&body, OnError &&on_error) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    on_error(EDGEIDP_ERR_NOMEM);
    return EDGEIDP_ERR_NOMEM;
  } catch (...) {
    on_error(EDGEIDP_ERR_INTERNAL);
    return EDGEIDP_ERR_INTERNAL;
  }
}

// What a config-time entry point writes into its caller's error buffer.
auto report_to(char *err, std::size_t err_len, const char *what) {
  return [=](edgeidp_status st) {
    write_err(err, err_len, st == EDGEIDP_ERR_NOMEM ? "out of memory" : what);
  };
}

constexpr char kInternalLog[] = "internal error in libedgeidp";

void fail(edgeidp_decision *out) {
  *out = edgeidp_decision{};
  out->status = 500;
  out->log_level = EDGEIDP_LOG_ERR;
  out->log = edgeidp_str{kInternalLog, sizeof kInternalLog - 1};
}

}  // namespace

extern "C" {

const char *edgeidp_version(void) {
  return "0.1.0";
}

edgeidp_status edgeidp_library_init(void) {
  return guarded(
      [] { return edgeidp::saml::library_init().ok() ? EDGEIDP_OK : EDGEIDP_ERR_INTERNAL; },
      [](edgeidp_status) {});
}

edgeidp_status edgeidp_ctx_load(const char *path, edgeidp_ctx **out, char *err, size_t err_len) {
  *out = nullptr;
  return guarded(
      [&] {
        if (path == nullptr) {
          write_err(err, err_len, "no configuration file given");
          return EDGEIDP_ERR_INVALID;
        }
        auto gw = edgeidp::portal::Gateway::load(path);
        if (!gw) {
          write_err(err, err_len, gw.error().describe());
          return EDGEIDP_ERR_CONFIG;
        }
        *out = new edgeidp_ctx{std::move(*gw)};
        return EDGEIDP_OK;
      },
      report_to(err, err_len, "internal error while loading the configuration"));
}

void edgeidp_ctx_free(edgeidp_ctx *ctx) {
  delete ctx;
}

edgeidp_status edgeidp_location_new(const edgeidp_ctx *ctx, const edgeidp_location_conf *conf,
                                    edgeidp_location **out, char *err, size_t err_len) {
  *out = nullptr;
  return guarded(
      [&] {
        auto loc = std::make_unique<edgeidp_location>();
        switch (conf->kind) {
          case EDGEIDP_LOC_PROTECT:
            loc->loc.kind = edgeidp::portal::LocationKind::protect;
            break;
          case EDGEIDP_LOC_PORTAL:
            loc->loc.kind = edgeidp::portal::LocationKind::portal;
            break;
          case EDGEIDP_LOC_SAML_APP:
            loc->loc.kind = edgeidp::portal::LocationKind::saml_app;
            break;
          default:
            write_err(err, err_len, "unknown location kind");
            return EDGEIDP_ERR_INVALID;
        }
        for (std::size_t i = 0; i < conf->ngroups; ++i) {
          loc->loc.groups.emplace_back(view(conf->groups[i]));
        }
        loc->loc.app = std::string(view(conf->app));
        loc->loc.portal_path = std::string(view(conf->portal_path));
        if (auto st = ctx->gateway->check_location(loc->loc); !st) {
          write_err(err, err_len, st.error().describe());
          return EDGEIDP_ERR_CONFIG;
        }
        *out = loc.release();
        return EDGEIDP_OK;
      },
      report_to(err, err_len, "internal error"));
}

void edgeidp_location_free(edgeidp_location *loc) {
  delete loc;
}

int edgeidp_is_identity_header(const edgeidp_ctx *ctx, const char *name, size_t len) {
  // Cannot throw (string_view comparisons), but fail closed if it ever did.
  int strip = 1;
  (void)guarded(
      [&] {
        strip = ctx->gateway->is_identity_header(std::string_view(name, len)) ? 1 : 0;
        return EDGEIDP_OK;
      },
      [](edgeidp_status) {});
  return strip;
}

edgeidp_status edgeidp_handle(const edgeidp_ctx *ctx, const edgeidp_location *loc,
                              const edgeidp_request *r, edgeidp_decision *out) {
  return guarded(
      [&] {
        edgeidp::portal::Request req;
        req.method = view(r->method);
        req.uri = view(r->uri);
        req.args = view(r->args);
        req.host = view(r->host);
        req.https = r->https != 0;
        req.client_addr = view(r->client_addr);
        req.cookie = view(r->cookie);
        req.content_type = view(r->content_type);
        req.body = view(r->body);
        req.body_truncated = r->body_truncated != 0;
        req.accept = view(r->accept);
        req.sec_fetch_mode = view(r->sec_fetch_mode);
        req.x_requested_with = view(r->x_requested_with);
        req.now = r->now != 0 ? r->now : static_cast<std::int64_t>(std::time(nullptr));
        fill(ctx, out, ctx->gateway->handle(loc->loc, req));
        return EDGEIDP_OK;
      },
      [out](edgeidp_status) { fail(out); });
}

void edgeidp_task_run(edgeidp_task *task, int flags) {
  // On failure task->ok stays false: finish_task reports a failed login.
  (void)guarded(
      [&] {
        if (task == nullptr || !task->task) {
          return EDGEIDP_ERR_INVALID;
        }
        auto &login = *task->task;
        if ((flags & EDGEIDP_TASK_IDLE_PRIORITY) != 0) {
          task->idle_lane->run(
              [&login] { edgeidp::portal::Gateway::run_task(login, edgeidp::give_way); });
        } else {
          edgeidp::portal::Gateway::run_task(login);
        }
        return EDGEIDP_OK;
      },
      [](edgeidp_status) {});
}

edgeidp_status edgeidp_task_finish(const edgeidp_ctx *ctx, edgeidp_decision *decision) {
  return guarded(
      [&] {
        edgeidp_task *task = decision->task;
        decision->task = nullptr;
        edgeidp_decision_release(decision);
        if (task == nullptr) {
          fail(decision);
          return EDGEIDP_ERR_INVALID;
        }
        std::unique_ptr<edgeidp_task> owned(task);
        fill(ctx, decision, ctx->gateway->finish_task(std::move(owned->task)));
        return EDGEIDP_OK;
      },
      [decision](edgeidp_status) { fail(decision); });
}

void edgeidp_decision_release(edgeidp_decision *decision) {
  if (decision == nullptr) {
    return;
  }
  delete decision->task;
  delete static_cast<Holder *>(decision->internal);
  *decision = edgeidp_decision{};
}

void edgeidp_ctx_set_counters(edgeidp_ctx *ctx, const edgeidp_counter_store *store) {
  (void)guarded(
      [&] {
        if (store == nullptr || store->add == nullptr) {
          ctx->gateway->set_counters(nullptr);
          return EDGEIDP_OK;
        }
        const edgeidp_counter_store copy = *store;
        ctx->gateway->set_counters(
            [copy](std::string_view key, std::int64_t delta, std::int64_t expires) {
              return copy.add(copy.arg, key.data(), key.size(), delta, expires);
            });
        return EDGEIDP_OK;
      },
      [](edgeidp_status) {});
}

}  // extern "C"
