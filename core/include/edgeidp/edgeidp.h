/*
 * edgeidp.h: the C ABI between the web server glue (mod_nginx, mod_apache)
 * and libedgeidp.
 *
 * Conventions (BoringSSL's): opaque handles with _new/_free (every _free
 * accepts NULL); results are an edgeidp_status; strings are pointer + length
 * (they map onto ngx_str_t and APR counted strings) and are NOT
 * NUL-terminated unless stated. No C++ exception ever crosses this ABI: every
 * function catches everything and returns EDGEIDP_ERR_INTERNAL or
 * EDGEIDP_ERR_NOMEM. Memory the core returns is owned by the core and freed
 * only through a core function.
 *
 * Threads: an edgeidp_ctx is immutable after edgeidp_ctx_load, except for
 * internal, locked caches (the directory, reloaded when its file changes),
 * so any number of threads may use one ctx at once.
 *
 * The request flow, for each request the glue has configured:
 *
 *   1. strip: remove every request header for which
 *      edgeidp_is_identity_header() is true (spoofed identity), always.
 *   2. decide: edgeidp_handle() with the location and the request. The
 *      decision says: continue (status 0, with identity for upstream),
 *      respond (status, headers, body), or run a slow task first.
 *   3. if decision.task != NULL: run edgeidp_task_run(task) off the event
 *      loop (nginx thread pool; inline in httpd), then edgeidp_task_finish()
 *      on the request's thread, which fills a new decision.
 *   4. apply the decision, then edgeidp_decision_release().
 */
#ifndef EDGEIDP_EDGEIDP_H
#define EDGEIDP_EDGEIDP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  EDGEIDP_OK = 0,
  EDGEIDP_ERR_CONFIG = 1,  /* the configuration is invalid (see message) */
  EDGEIDP_ERR_INVALID = 2, /* an argument is invalid */
  EDGEIDP_ERR_NOMEM = 3,
  EDGEIDP_ERR_INTERNAL = 4
} edgeidp_status;

typedef struct {
  const char *data;
  size_t len;
} edgeidp_str;

typedef struct {
  edgeidp_str name;
  edgeidp_str value;
} edgeidp_header;

/* Log levels, numbered as syslog's (and httpd's APLOG_*); nginx's
 * NGX_LOG_* are one higher. */
enum {
  EDGEIDP_LOG_ERR = 3,
  EDGEIDP_LOG_WARN = 4,
  EDGEIDP_LOG_NOTICE = 5,
  EDGEIDP_LOG_INFO = 6,
  EDGEIDP_LOG_DEBUG = 7
};

/* edgeidp_version returns the library version, e.g. "0.1.0" (static). */
const char *edgeidp_version(void);

/* edgeidp_library_init initialises libxml2, xmlsec and OpenSSL for the
 * process. Call it once, before anything else, from one thread (nginx:
 * init_module / the config parse; httpd: post_config). Repeated calls are
 * harmless. */
edgeidp_status edgeidp_library_init(void);

/* ---- configuration ---------------------------------------------------- */

typedef struct edgeidp_ctx edgeidp_ctx;

/* edgeidp_ctx_load reads edgeidp.toml at |path| (keys, directory, apps,
 * session keys), validates all of it and returns a new context in |*out|.
 * On failure it writes a NUL-terminated message naming file, line and key
 * into |err| (at most |err_len| bytes) and returns EDGEIDP_ERR_CONFIG. Read
 * secrets (keys) happen here, so call it while the process can still read
 * them (as root, before workers drop privileges). */
edgeidp_status edgeidp_ctx_load(const char *path, edgeidp_ctx **out, char *err, size_t err_len);

/* edgeidp_ctx_free releases a context. NULL is allowed. */
void edgeidp_ctx_free(edgeidp_ctx *ctx);

/* ---- per-location settings (the web server directives) --------------- */

typedef struct edgeidp_location edgeidp_location;

typedef enum {
  EDGEIDP_LOC_PROTECT = 1, /* require a session (and groups) */
  EDGEIDP_LOC_PORTAL = 2,  /* serve the portal: login, logout, sso, ... */
  EDGEIDP_LOC_SAML_APP = 3 /* IdP-initiated sign-in to one SAML app */
} edgeidp_location_kind;

typedef struct {
  edgeidp_location_kind kind;
  /* PROTECT: a user must be in at least one of these groups (none: any
   * logged-in user). */
  const edgeidp_str *groups;
  size_t ngroups;
  /* SAML_APP: the [[app]] name. */
  edgeidp_str app;
  /* PORTAL: the URI prefix the portal is mounted at, e.g. "/edgeidp".
   * PROTECT / SAML_APP: where to send people to log in; empty: the
   * path of [idp].base_url. */
  edgeidp_str portal_path;
} edgeidp_location_conf;

/* edgeidp_location_new checks a location's settings against the context
 * (the app exists, the groups exist) and returns a handle for
 * edgeidp_handle. On failure writes a NUL-terminated message into |err| and
 * returns EDGEIDP_ERR_CONFIG. */
edgeidp_status edgeidp_location_new(const edgeidp_ctx *ctx, const edgeidp_location_conf *conf,
                                    edgeidp_location **out, char *err, size_t err_len);
void edgeidp_location_free(edgeidp_location *loc);

/* ---- requests --------------------------------------------------------- */

/* edgeidp_is_identity_header is 1 when a request header named |name| must
 * be removed before the request goes anywhere: it uses the configured
 * identity prefix (default "X-Remote-"), compared case-insensitively with
 * '_' and '-' treated as equal. */
int edgeidp_is_identity_header(const edgeidp_ctx *ctx, const char *name, size_t len);

typedef struct {
  edgeidp_str method;      /* "GET", "POST", ... */
  edgeidp_str uri;         /* the server's normalized, routed path (no
                              query): r->uri, not a client header */
  edgeidp_str args;        /* the raw query string, without '?' */
  edgeidp_str host;        /* the Host the request was routed by */
  int https;               /* 1 when the client connection is TLS */
  edgeidp_str client_addr; /* the client address as text */
  edgeidp_str cookie;      /* every Cookie header, joined with "; " */
  edgeidp_str content_type;
  edgeidp_str body;   /* the request body (portal POSTs) */
  int body_truncated; /* 1 if the body exceeded the glue's limit */
  /* For "is this a browser navigation or an API call?" */
  edgeidp_str accept;
  edgeidp_str sec_fetch_mode;
  edgeidp_str x_requested_with;
  int64_t now; /* unix seconds; 0: the core reads the clock */
} edgeidp_request;

typedef struct edgeidp_task edgeidp_task;

typedef struct {
  /* 0: let the request continue (PROTECT, allowed). Otherwise the HTTP
   * status to answer with, using headers and body. */
  int status;
  /* Response headers to send (Location, Set-Cookie, Content-Type,
   * Cache-Control, Retry-After, ...). Set-Cookie may also come with
   * status 0 (a refreshed session): add it to the response. */
  const edgeidp_header *headers;
  size_t nheaders;
  edgeidp_str body;
  /* status 0: identity headers to set on the request for upstreams. The
   * names point into the ctx: the same pointers in every decision, so the
   * glue may keep what it derives from them (nginx: lower case, hash). */
  const edgeidp_header *upstream;
  size_t nupstream;
  /* status 0: the request's cookies without the gateway's own, for the
   * operator to send upstream instead of Cookie ($edgeidp_cookie,
   * EDGEIDP_COOKIE). It may point into the request's cookie. */
  edgeidp_str cookie;
  /* The identity, for variables / REMOTE_USER; empty when unknown. */
  edgeidp_str user, email, name, groups;
  /* A line for the error log (never secrets); level 0: nothing to log. */
  int log_level;
  edgeidp_str log;
  /* Non-NULL: slow work is needed before the decision (password check).
   * status etc. are unset; see edgeidp_task_run. */
  edgeidp_task *task;
  void *internal; /* core bookkeeping */
} edgeidp_decision;

/* edgeidp_handle decides what to do with a request for a location. |req| and
 * the memory it points to must stay valid until the decision is released
 * (or, with a task, until edgeidp_task_finish returns). Always fills
 * |*out| (on error: a 500 decision) and returns its status. */
edgeidp_status edgeidp_handle(const edgeidp_ctx *ctx, const edgeidp_location *loc,
                              const edgeidp_request *req, edgeidp_decision *out);

/* Flags for edgeidp_task_run. */
enum {
  /* Hash on a helper thread at the lowest CPU priority (SCHED_IDLE) and
   * wait for it, so that the server's own threads are never kept waiting
   * by a hash. For a thread that may block for long (an nginx thread pool
   * thread: the pool's queue bounds what waits); never from an event loop,
   * which would then wait for idle CPU, nor from a thread that serves
   * other requests (httpd), which a saturated CPU would hold. */
  EDGEIDP_TASK_IDLE_PRIORITY = 1
};

/* edgeidp_task_run does the slow part of a task (password hashing). It
 * touches no server state: run it on any thread. |flags|: 0 or
 * EDGEIDP_TASK_IDLE_PRIORITY. */
void edgeidp_task_run(edgeidp_task *task, int flags);

/* edgeidp_task_finish turns a task that has run into a decision (releasing
 * the earlier decision that carried the task) and frees the task. */
edgeidp_status edgeidp_task_finish(const edgeidp_ctx *ctx, edgeidp_decision *decision);

/* edgeidp_decision_release frees what the decision points to (and a task
 * that was never run). The struct itself belongs to the caller. */
void edgeidp_decision_release(edgeidp_decision *decision);

/* ---- shared counters (login limits across processes) ------------------ */

/* The glue provides a small shared store (nginx: a shared memory zone;
 * httpd: socache shmcb) for failed-login counters. All calls are made with
 * the store's lock NOT held; the store locks itself. */
typedef struct {
  void *arg;
  /* Atomically adds |delta| to the counter |key| (creating it at 0 with
   * the given expiry, unix seconds) and returns the new value, or -1 if
   * the store failed (the core then fails closed: 503). */
  int64_t (*add)(void *arg, const char *key, size_t key_len, int64_t delta, int64_t expires);
} edgeidp_counter_store;

/* edgeidp_ctx_set_counters installs the store (once, before requests). The
 * store must outlive the context. Without one, limits are per-process. */
void edgeidp_ctx_set_counters(edgeidp_ctx *ctx, const edgeidp_counter_store *store);

#ifdef __cplusplus
}
#endif

#endif /* EDGEIDP_EDGEIDP_H */
