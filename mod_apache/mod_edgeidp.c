/*
 * Copyright (C) edgeidp contributors
 * SPDX-License-Identifier: Apache-2.0
 *
 * mod_edgeidp: the Apache httpd glue of edgeidp, in the shape of
 * mod_auth_basic. It follows the request flow of edgeidp.h:
 *
 *   post_read_request  every client-sent identity header is removed
 *                      (edgeidp_is_identity_header), on every request;
 *   check_authn        AuthType EdgeIdP: the core checks the session cookie
 *                      (an EDGEIDP_LOC_PROTECT location without groups); a
 *                      valid session sets r->user, the identity headers for
 *                      mod_proxy backends and EDGEIDP_* for CGI/PHP;
 *   authz provider     Require edgeidp-group G...: the groups of the user
 *                      that check_authn found, so it composes with
 *                      <RequireAll>/<RequireAny> and other providers;
 *   handlers           edgeidp-portal (login, logout, launcher, metadata)
 *                      and edgeidp-saml-app (IdP-initiated SAML sign-in).
 *
 * The configuration (edgeidp.toml) is loaded in check_config, as root and
 * before `apache2 -t` exits, so a broken file fails the config test and the
 * start with the core's message. Failed-login counters live in a socache
 * (shmcb) guarded by a global mutex, so limits hold across child processes.
 *
 * Log messages carry our own tag prefix, "EIDPnnnnn: ": APLOGNO/AH numbers
 * are reserved for the modules httpd ships.
 */

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_global_mutex.h"

#include "ap_config.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mod_auth.h"
#include "util_mutex.h"

#include <string.h>

#include <edgeidp/edgeidp.h>

#define EDGEIDP_AUTH_TYPE      "EdgeIdP"
#define EDGEIDP_PORTAL_HANDLER "edgeidp-portal"
#define EDGEIDP_SAML_HANDLER   "edgeidp-saml-app"
#define EDGEIDP_GROUP_PROVIDER "edgeidp-group"

/* the largest portal POST body read into memory */
#define EDGEIDP_MAX_BODY 16384
#define EDGEIDP_ERR_LEN  1024
/* the longest failed-login counter key */
#define EDGEIDP_MAX_KEY 512

#define EDGEIDP_MUTEX_TYPE      "edgeidp-counters"
#define EDGEIDP_CACHE_NAMESPACE "edgeidp"
#define EDGEIDP_CACHE_PROVIDER  "shmcb"

/*
 * AP_DECLARE_MODULE(edgeidp) at the end expands APLOG_USE_MODULE(edgeidp),
 * so `LogLevel edgeidp:debug` applies to every message of this file (the
 * tentative aplog_module_index of http_log.h is completed there).
 */
/* built with -fvisibility=hidden: the module record is the one symbol
 * httpd looks up (see mod_edgeidp.map) */
extern module AP_MODULE_DECLARE_DATA __attribute__((visibility("default")))
edgeidp_module;

/*
 * A location handle the core must check once the configuration is loaded.
 * Directives record one (the raw strings only); check_config turns every
 * slot into an edgeidp_location, so an unknown app or group fails at
 * startup, not on a request.
 */
typedef struct edgeidp_loc_slot edgeidp_loc_slot;

struct edgeidp_loc_slot {
    edgeidp_location_kind kind;
    const char *app;            /* SAML_APP */
    const char *portal_path;    /* PORTAL: mount point; else login URL */
    const char **login_url;     /* SAML_APP: the section's login URL */
    apr_array_header_t *groups; /* const char *; PROTECT */
    const char *where;          /* "file:line" for messages */
    int automatic;              /* a section's own path (SetHandler) */
    edgeidp_location *loc;      /* set by check_config */
    edgeidp_loc_slot *next;
};

typedef struct {
    const char *login_url;     /* EdgeIdPLoginURL */
    edgeidp_loc_slot *protect; /* the PROTECT location of login_url */
    edgeidp_loc_slot *handler; /* EdgeIdPPortal or EdgeIdPSamlApp */
    edgeidp_loc_slot *section; /* a portal at this <Location> path */

    unsigned int login_url_set : 1;
    unsigned int handler_set : 1;
} edgeidp_dir_config_rec;

typedef struct {
    const char *config_file; /* EdgeIdPConfig */
} edgeidp_server_config_rec;

/* The state of one configuration generation (one pconf). */
typedef struct {
    server_rec *s;
    edgeidp_ctx *ctx;
    edgeidp_loc_slot *slots;
    edgeidp_loc_slot protect_default;
    int checked; /* check_config ran */

    const ap_socache_provider_t *cache;
    ap_socache_instance_t *cache_inst;
    apr_global_mutex_t *mutex;
    edgeidp_counter_store store;
} edgeidp_global_rec;

/* The identity check_authn found, for the authz provider. */
typedef struct {
    const char *user;
    const char *groups; /* comma-separated */
} edgeidp_identity_rec;

static edgeidp_global_rec *edgeidp_global;

static void *create_edgeidp_dir_config(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(edgeidp_dir_config_rec));
}

static void *merge_edgeidp_dir_config(apr_pool_t *p, void *basev, void *newv)
{
    edgeidp_dir_config_rec *base = basev;
    edgeidp_dir_config_rec *add = newv;
    edgeidp_dir_config_rec *conf = apr_pcalloc(p, sizeof(*conf));

    conf->login_url = add->login_url_set ? add->login_url : base->login_url;
    conf->protect = add->login_url_set ? add->protect : base->protect;
    conf->login_url_set = add->login_url_set || base->login_url_set;

    conf->handler = add->handler_set ? add->handler : base->handler;
    conf->handler_set = add->handler_set || base->handler_set;

    conf->section = add->section ? add->section : base->section;

    return conf;
}

static void *create_edgeidp_server_config(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(edgeidp_server_config_rec));
}

static const char *edgeidp_where(cmd_parms *cmd)
{
    if (cmd->directive == NULL) {
        return "";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

static edgeidp_loc_slot *edgeidp_add_slot(cmd_parms *cmd,
                                          edgeidp_location_kind kind)
{
    edgeidp_loc_slot *slot = apr_pcalloc(cmd->pool, sizeof(*slot));

    slot->kind = kind;
    slot->where = edgeidp_where(cmd);

    if (edgeidp_global != NULL && !edgeidp_global->checked) {
        slot->next = edgeidp_global->slots;
        edgeidp_global->slots = slot;
    }

    return slot;
}

static const char *set_config_file(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    edgeidp_server_config_rec *sconf =
        ap_get_module_config(cmd->server->module_config, &edgeidp_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL) {
        return err;
    }
    if (sconf->config_file != NULL) {
        return "EdgeIdPConfig is duplicate";
    }

    sconf->config_file = ap_server_root_relative(cmd->pool, arg);
    if (sconf->config_file == NULL) {
        return apr_pstrcat(cmd->pool, "EdgeIdPConfig: invalid file path ", arg,
                           NULL);
    }

    return NULL;
}

static const char *set_portal(cmd_parms *cmd, void *config, const char *args)
{
    edgeidp_dir_config_rec *conf = config;
    edgeidp_loc_slot *slot;
    const char *arg = ap_getword_conf(cmd->pool, &args);
    const char *path = arg[0] != '\0' ? arg : cmd->path;
    size_t len;

    if (*args != '\0') {
        return "EdgeIdPPortal takes at most one argument";
    }

    if (path == NULL || path[0] != '/') {
        return "EdgeIdPPortal needs the URL path the portal is mounted at, "
               "either as its argument or from the enclosing <Location>";
    }
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        len--;
    }

    slot = edgeidp_add_slot(cmd, EDGEIDP_LOC_PORTAL);
    slot->portal_path = apr_pstrmemdup(cmd->pool, path, len);
    conf->handler = slot;
    conf->handler_set = 1;

    return NULL;
}

static const char *set_saml_app(cmd_parms *cmd, void *config, const char *arg)
{
    edgeidp_dir_config_rec *conf = config;
    edgeidp_loc_slot *slot;

    if (arg[0] == '\0') {
        return "EdgeIdPSamlApp needs the name of an [[app]] in edgeidp.toml";
    }

    slot = edgeidp_add_slot(cmd, EDGEIDP_LOC_SAML_APP);
    slot->app = arg;
    slot->login_url = &conf->login_url;
    conf->handler = slot;
    conf->handler_set = 1;

    return NULL;
}

static const char *set_login_url(cmd_parms *cmd, void *config, const char *arg)
{
    edgeidp_dir_config_rec *conf = config;
    edgeidp_loc_slot *slot;

    if (arg[0] != '/' || arg[1] == '/') {
        return "EdgeIdPLoginURL must be a path on this server, like /edgeidp";
    }

    slot = edgeidp_add_slot(cmd, EDGEIDP_LOC_PROTECT);
    slot->portal_path = arg;
    conf->login_url = arg;
    conf->protect = slot;
    conf->login_url_set = 1;

    return NULL;
}

static const command_rec edgeidp_cmds[] = {
    AP_INIT_TAKE1("EdgeIdPConfig", set_config_file, NULL, RSRC_CONF,
                  "The edgeidp.toml file: identity provider keys, directory, "
                  "applications and session keys (main server only)."),
    AP_INIT_RAW_ARGS("EdgeIdPPortal", set_portal, NULL, ACCESS_CONF,
                     "Serves the login portal here; the optional argument is "
                     "the URL path it is mounted at (default: the "
                     "<Location> path)."),
    AP_INIT_TAKE1("EdgeIdPSamlApp", set_saml_app, NULL, ACCESS_CONF,
                  "Serves the IdP-initiated sign-in page of the named "
                  "[[app]] here."),
    AP_INIT_TAKE1("EdgeIdPLoginURL", set_login_url, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "The URL path of the portal that users without a session "
                  "are sent to (default: the path of [idp].base_url)."),
    {NULL}};

/* ---- the request ------------------------------------------------------- */

static void edgeidp_str_set(edgeidp_str *dst, const char *src)
{
    dst->data = src != NULL ? src : "";
    dst->len = src != NULL ? strlen(src) : 0;
}

static int edgeidp_has_crlf(const edgeidp_str *s)
{
    return memchr(s->data, '\r', s->len) != NULL ||
           memchr(s->data, '\n', s->len) != NULL ||
           memchr(s->data, '\0', s->len) != NULL;
}

static const char *edgeidp_dup(request_rec *r, const edgeidp_str *s)
{
    return apr_pstrmemdup(r->pool, s->data != NULL ? s->data : "", s->len);
}

/* every Cookie header, joined with "; " */
static const char *edgeidp_cookies(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *out = NULL;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key == NULL || e[i].val == NULL ||
            strcasecmp(e[i].key, "Cookie") != 0) {
            continue;
        }
        out = out == NULL ? e[i].val
                          : apr_pstrcat(r->pool, out, "; ", e[i].val, NULL);
    }

    return out;
}

/*
 * Reads the portal POST body, at most EDGEIDP_MAX_BODY bytes; a longer body
 * is reported as truncated (the core answers 413) and the connection is
 * closed instead of reading the rest.
 */
static int edgeidp_read_body(request_rec *r, edgeidp_request *req,
                             int *truncated)
{
    char *buf;
    apr_size_t len = 0;
    long n;
    char extra;
    int rc;

    rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (rc != OK) {
        return rc;
    }
    if (!ap_should_client_block(r)) {
        return OK;
    }

    buf = apr_palloc(r->pool, EDGEIDP_MAX_BODY);

    while (len < EDGEIDP_MAX_BODY) {
        n = ap_get_client_block(r, buf + len, EDGEIDP_MAX_BODY - len);
        if (n < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "%s",
                          "EIDP00201: reading the request body failed");
            r->connection->keepalive = AP_CONN_CLOSE;
            return HTTP_BAD_REQUEST;
        }
        if (n == 0) {
            break;
        }
        len += n;
    }

    if (len == EDGEIDP_MAX_BODY) {
        n = ap_get_client_block(r, &extra, 1);
        if (n != 0) {
            *truncated = 1;
            req->body_truncated = 1;
            r->connection->keepalive = AP_CONN_CLOSE;
        }
    }

    req->body.data = buf;
    req->body.len = len;

    return OK;
}

static void edgeidp_fill_request(request_rec *r, edgeidp_request *req)
{
    memset(req, 0, sizeof(*req));

    edgeidp_str_set(&req->method, r->method);
    /* the server's normalized path, never a client header */
    edgeidp_str_set(&req->uri, r->uri);
    edgeidp_str_set(&req->args, r->args);
    edgeidp_str_set(&req->host, r->hostname != NULL
                                    ? r->hostname
                                    : r->server->server_hostname);
    req->https = ap_ssl_conn_is_ssl(r->connection) ? 1 : 0;
    /* mod_remoteip changes it only for configured trusted proxies */
    edgeidp_str_set(&req->client_addr, r->useragent_ip);
    edgeidp_str_set(&req->cookie, edgeidp_cookies(r));
    edgeidp_str_set(&req->content_type,
                    apr_table_get(r->headers_in, "Content-Type"));
    edgeidp_str_set(&req->accept, apr_table_get(r->headers_in, "Accept"));
    edgeidp_str_set(&req->sec_fetch_mode,
                    apr_table_get(r->headers_in, "Sec-Fetch-Mode"));
    edgeidp_str_set(&req->x_requested_with,
                    apr_table_get(r->headers_in, "X-Requested-With"));
    req->now = 0;
}

static void edgeidp_log_decision(request_rec *r, const edgeidp_decision *d)
{
    int level = d->log_level;

    if (level <= 0 || d->log.len == 0) {
        return;
    }
    if (level < APLOG_ERR) {
        level = APLOG_ERR;
    }
    if (level > APLOG_DEBUG) {
        level = APLOG_DEBUG;
    }
    ap_log_rerror(APLOG_MARK, level, 0, r, "EIDP00210: %s",
                  edgeidp_dup(r, &d->log));
}

/*
 * Sends the core's answer. Used from the handler and from check_authn
 * (which then returns DONE, as mod_auth_openidc does), so the body the core
 * made (login page, 401 JSON hint, auto-POST form) reaches the client.
 */
static void edgeidp_respond(request_rec *r, const edgeidp_decision *d,
                            int body_read)
{
    const edgeidp_header *h;
    size_t i;

    if (!body_read && ap_discard_request_body(r) != OK) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }

    r->status = d->status;

    for (i = 0; i < d->nheaders; i++) {
        h = &d->headers[i];
        if (h->name.len == 0 || edgeidp_has_crlf(&h->name) ||
            edgeidp_has_crlf(&h->value)) {
            continue;
        }
        if (h->name.len == sizeof("Content-Length") - 1 &&
            strncasecmp(h->name.data, "Content-Length", h->name.len) == 0) {
            continue;
        }
        if (h->name.len == sizeof("Content-Type") - 1 &&
            strncasecmp(h->name.data, "Content-Type", h->name.len) == 0) {
            ap_set_content_type(r, edgeidp_dup(r, &h->value));
            continue;
        }
        apr_table_addn(r->headers_out, edgeidp_dup(r, &h->name),
                       edgeidp_dup(r, &h->value));
    }

    ap_set_content_length(r, d->body.len);

    if (!r->header_only && d->body.len > 0) {
        ap_rwrite(d->body.data, (int)d->body.len, r);
    }
}

/* status 0 of a PROTECT location: the request continues with an identity */
static int edgeidp_continue(request_rec *r, const edgeidp_decision *d)
{
    edgeidp_identity_rec *id;
    const edgeidp_header *h;
    size_t i;

    if (d->user.len == 0 || edgeidp_has_crlf(&d->user)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s",
                      "EIDP00220: the core allowed a request without a "
                      "user; refusing it");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    id = apr_pcalloc(r->pool, sizeof(*id));
    id->user = edgeidp_dup(r, &d->user);
    id->groups = edgeidp_dup(r, &d->groups);
    ap_set_module_config(r->request_config, &edgeidp_module, id);

    r->user = (char *)id->user;
    r->ap_auth_type = (char *)EDGEIDP_AUTH_TYPE;

    /* identity headers for mod_proxy (and other handlers) */
    for (i = 0; i < d->nupstream; i++) {
        h = &d->upstream[i];
        if (h->name.len == 0 || edgeidp_has_crlf(&h->name) ||
            edgeidp_has_crlf(&h->value)) {
            continue;
        }
        apr_table_set(r->headers_in, edgeidp_dup(r, &h->name),
                      edgeidp_dup(r, &h->value));
    }

    /* for CGI, PHP, SSI, mod_rewrite */
    apr_table_setn(r->subprocess_env, "EDGEIDP_USER", id->user);
    apr_table_setn(r->subprocess_env, "EDGEIDP_EMAIL",
                   edgeidp_dup(r, &d->email));
    apr_table_setn(r->subprocess_env, "EDGEIDP_NAME",
                   edgeidp_dup(r, &d->name));
    apr_table_setn(r->subprocess_env, "EDGEIDP_GROUPS", id->groups);
    /* the client's cookies without the gateway's own (docs/apache.md) */
    if (d->cookie.len > 0 && !edgeidp_has_crlf(&d->cookie)) {
        apr_table_setn(r->subprocess_env, "EDGEIDP_COOKIE",
                       edgeidp_dup(r, &d->cookie));
    }

    /* a refreshed session: err_headers_out survives proxying and errors */
    for (i = 0; i < d->nheaders; i++) {
        h = &d->headers[i];
        if (h->name.len == sizeof("Set-Cookie") - 1 &&
            strncasecmp(h->name.data, "Set-Cookie", h->name.len) == 0 &&
            !edgeidp_has_crlf(&h->value)) {
            apr_table_addn(r->err_headers_out, "Set-Cookie",
                           edgeidp_dup(r, &h->value));
        }
    }

    return OK;
}

/*
 * Asks the core about the request, runs a slow task inline (event MPM
 * worker threads may block) and applies the decision. |authn|: called from
 * check_authn, where an answer is sent and DONE returned.
 */
static int edgeidp_decide(request_rec *r, const edgeidp_location *loc,
                          int read_body, int authn)
{
    edgeidp_request req;
    edgeidp_decision d;
    int truncated = 0;
    int rc;

    edgeidp_fill_request(r, &req);

    if (read_body) {
        rc = edgeidp_read_body(r, &req, &truncated);
        if (rc != OK) {
            return rc;
        }
    }

    memset(&d, 0, sizeof(d));
    (void)edgeidp_handle(edgeidp_global->ctx, loc, &req, &d);

    if (d.task != NULL) {
        edgeidp_task_run(d.task, 0);
        (void)edgeidp_task_finish(edgeidp_global->ctx, &d);
    }

    edgeidp_log_decision(r, &d);

    if (d.task != NULL || d.status < 0 || d.status > 999 ||
        (d.status > 0 && d.status < 200)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s",
                      "EIDP00230: the core returned no decision");
        edgeidp_decision_release(&d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    if (d.status == 0) {
        if (!authn) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s",
                          "EIDP00231: the core let a portal request "
                          "continue");
            rc = HTTP_INTERNAL_SERVER_ERROR;
        }
        else {
            rc = edgeidp_continue(r, &d);
        }
        edgeidp_decision_release(&d);
        return rc;
    }

    if (authn && r->main != NULL) {
        /* a subrequest writes nothing of its own */
        rc = d.status >= 400 ? d.status : HTTP_UNAUTHORIZED;
        edgeidp_decision_release(&d);
        return rc;
    }

    edgeidp_respond(r, &d, read_body || truncated);
    edgeidp_decision_release(&d);

    return authn ? DONE : OK;
}

/* ---- hooks ------------------------------------------------------------- */

/* Removes every client-sent identity header, in all spellings. */
static int edgeidp_strip_headers(request_rec *r)
{
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    apr_array_header_t *spoofed;
    int i;

    if (edgeidp_global == NULL || edgeidp_global->ctx == NULL) {
        return DECLINED;
    }

    arr = apr_table_elts(r->headers_in);
    e = (const apr_table_entry_t *)arr->elts;
    spoofed = NULL;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key != NULL &&
            edgeidp_is_identity_header(edgeidp_global->ctx, e[i].key,
                                       strlen(e[i].key))) {
            if (spoofed == NULL) {
                spoofed = apr_array_make(r->pool, 4, sizeof(const char *));
            }
            APR_ARRAY_PUSH(spoofed, const char *) = e[i].key;
        }
    }

    if (spoofed == NULL) {
        return DECLINED;
    }

    for (i = 0; i < spoofed->nelts; i++) {
        const char *key = APR_ARRAY_IDX(spoofed, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "EIDP00240: removed the client-sent header %s", key);
        apr_table_unset(r->headers_in, key);
    }

    return DECLINED;
}

static const edgeidp_identity_rec *edgeidp_identity_of(request_rec *r)
{
    const edgeidp_identity_rec *id;

    for (; r != NULL; r = r->main != NULL ? r->main : r->prev) {
        id = ap_get_module_config(r->request_config, &edgeidp_module);
        if (id != NULL) {
            return id;
        }
    }

    return NULL;
}

static int edgeidp_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const edgeidp_dir_config_rec *conf;
    const edgeidp_identity_rec *id;
    const edgeidp_loc_slot *slot;

    if (type == NULL || strcasecmp(type, EDGEIDP_AUTH_TYPE) != 0) {
        return DECLINED;
    }

    if (edgeidp_global == NULL || edgeidp_global->ctx == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s",
                      "EIDP00300: AuthType EdgeIdP needs EdgeIdPConfig in "
                      "the main server configuration");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a subrequest of a request that already has our identity */
    if (r->main != NULL && r->main->user != NULL) {
        id = edgeidp_identity_of(r->main);
        if (id != NULL && strcmp(id->user, r->main->user) == 0) {
            ap_set_module_config(r->request_config, &edgeidp_module,
                                 (void *)id);
            r->user = r->main->user;
            r->ap_auth_type = (char *)EDGEIDP_AUTH_TYPE;
            return OK;
        }
    }

    conf = ap_get_module_config(r->per_dir_config, &edgeidp_module);
    slot = conf->protect != NULL ? conf->protect
                                 : &edgeidp_global->protect_default;
    if (slot->loc == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "%s",
                      "EIDP00301: EdgeIdPLoginURL was not checked at "
                      "startup (.htaccess?); move it to the server "
                      "configuration");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    return edgeidp_decide(r, slot->loc, 0, 1);
}

static int edgeidp_note_auth_failure(request_rec *r, const char *auth_type)
{
    if (strcasecmp(auth_type, EDGEIDP_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    /* no WWW-Authenticate: the portal is the way to log in */
    return OK;
}

/* EdgeIdPPortal / EdgeIdPSamlApp select our handler without SetHandler. */
static int edgeidp_fixups(request_rec *r)
{
    const edgeidp_dir_config_rec *conf =
        ap_get_module_config(r->per_dir_config, &edgeidp_module);

    if (conf == NULL || conf->handler == NULL) {
        return DECLINED;
    }
    r->handler = conf->handler->kind == EDGEIDP_LOC_PORTAL
                     ? EDGEIDP_PORTAL_HANDLER
                     : EDGEIDP_SAML_HANDLER;

    return DECLINED;
}

static int edgeidp_handler(request_rec *r)
{
    const edgeidp_dir_config_rec *conf;
    const edgeidp_loc_slot *slot;
    edgeidp_location_kind kind;

    if (r->handler == NULL) {
        return DECLINED;
    }
    if (strcmp(r->handler, EDGEIDP_PORTAL_HANDLER) == 0) {
        kind = EDGEIDP_LOC_PORTAL;
    }
    else if (strcmp(r->handler, EDGEIDP_SAML_HANDLER) == 0) {
        kind = EDGEIDP_LOC_SAML_APP;
    }
    else {
        return DECLINED;
    }

    if (edgeidp_global == NULL || edgeidp_global->ctx == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "EIDP00400: SetHandler %s needs EdgeIdPConfig in the "
                      "main server configuration",
                      r->handler);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    conf = ap_get_module_config(r->per_dir_config, &edgeidp_module);
    slot = conf->handler;
    if (slot == NULL && kind == EDGEIDP_LOC_PORTAL) {
        slot = conf->section;
    }
    if (slot == NULL || slot->kind != kind || slot->loc == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "EIDP00401: SetHandler %s: no %s in this section",
                      r->handler,
                      kind == EDGEIDP_LOC_PORTAL
                          ? "<Location PATH> or EdgeIdPPortal PATH"
                          : "EdgeIdPSamlApp NAME");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    return edgeidp_decide(
        r, slot->loc, kind == EDGEIDP_LOC_PORTAL && r->method_number == M_POST,
        0);
}

/* ---- Require edgeidp-group G... ---------------------------------------- */

static const char *edgeidp_group_parse(cmd_parms *cmd, const char *line_args,
                                       const void **parsed)
{
    edgeidp_loc_slot *slot;
    apr_array_header_t *groups;
    const char *line = line_args;
    const char *w;

    groups = apr_array_make(cmd->pool, 4, sizeof(const char *));
    while (*line != '\0') {
        w = ap_getword_conf(cmd->pool, &line);
        if (*w != '\0') {
            APR_ARRAY_PUSH(groups, const char *) = w;
        }
    }
    if (groups->nelts == 0) {
        return "Require edgeidp-group needs at least one group name";
    }

    /* check_config checks that the groups exist */
    slot = edgeidp_add_slot(cmd, EDGEIDP_LOC_PROTECT);
    slot->groups = groups;

    *parsed = groups;

    return NULL;
}

static authz_status edgeidp_group_check(request_rec *r,
                                        const char *require_args,
                                        const void *parsed)
{
    const apr_array_header_t *want = parsed;
    const edgeidp_identity_rec *id;
    const char *p, *end;
    size_t len;
    int i;

    if (r->user == NULL) {
        return AUTHZ_DENIED_NO_USER;
    }

    id = edgeidp_identity_of(r);
    if (id == NULL || strcmp(id->user, r->user) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "EIDP00500: Require edgeidp-group: user %s was not "
                      "authenticated by AuthType EdgeIdP",
                      r->user);
        return AUTHZ_DENIED;
    }

    for (p = id->groups; *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        len = end - p;
        for (i = 0; i < want->nelts; i++) {
            const char *g = APR_ARRAY_IDX(want, i, const char *);
            if (strlen(g) == len && strncmp(g, p, len) == 0) {
                return AUTHZ_GRANTED;
            }
        }
    }

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "EIDP00501: user %s is in none of the groups \"%s\"",
                  r->user, require_args);

    return AUTHZ_DENIED;
}

static const authz_provider edgeidp_group_provider = {
    &edgeidp_group_check,
    &edgeidp_group_parse,
};

/* ---- failed-login counters: socache shmcb + a global mutex ------------- */

static int64_t edgeidp_counter_add(void *arg, const char *key, size_t key_len,
                                   int64_t delta, int64_t expires)
{
    edgeidp_global_rec *g = arg;
    unsigned char buf[16];
    unsigned int len = sizeof(buf);
    int64_t value = 0, exp = expires;
    int64_t now = (int64_t)apr_time_sec(apr_time_now());
    apr_pool_t *p;
    apr_status_t rv;

    if (g == NULL || g->cache == NULL || key == NULL || key_len == 0 ||
        key_len > EDGEIDP_MAX_KEY) {
        return -1;
    }
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return -1;
    }
    if (apr_global_mutex_lock(g->mutex) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return -1;
    }

    rv = g->cache->retrieve(g->cache_inst, g->s, (const unsigned char *)key,
                            (unsigned int)key_len, buf, &len, p);
    if (rv == APR_SUCCESS && len == sizeof(buf)) {
        memcpy(&value, buf, 8);
        memcpy(&exp, buf + 8, 8);
        if (exp <= now) {
            value = 0;
            exp = expires;
        }
    }

    value += delta;
    memcpy(buf, &value, 8);
    memcpy(buf + 8, &exp, 8);

    rv = g->cache->store(g->cache_inst, g->s, (const unsigned char *)key,
                         (unsigned int)key_len, apr_time_from_sec(exp), buf,
                         sizeof(buf), p);

    apr_global_mutex_unlock(g->mutex);
    apr_pool_destroy(p);

    return rv == APR_SUCCESS ? value : -1;
}

/* ---- configuration life cycle ------------------------------------------ */

static apr_status_t edgeidp_cleanup_ctx(void *data)
{
    edgeidp_ctx_free(data);
    return APR_SUCCESS;
}

static apr_status_t edgeidp_cleanup_location(void *data)
{
    edgeidp_location_free(data);
    return APR_SUCCESS;
}

static apr_status_t edgeidp_cleanup_cache(void *data)
{
    edgeidp_global_rec *g = data;

    if (g->cache != NULL && g->cache_inst != NULL) {
        g->cache->destroy(g->cache_inst, g->s);
        g->cache_inst = NULL;
    }
    return APR_SUCCESS;
}

static apr_status_t edgeidp_cleanup_global(void *data)
{
    if (edgeidp_global == data) {
        edgeidp_global = NULL;
    }
    return APR_SUCCESS;
}

static int edgeidp_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp)
{
    apr_status_t rv;

    edgeidp_global = apr_pcalloc(pconf, sizeof(*edgeidp_global));
    apr_pool_cleanup_register(pconf, edgeidp_global, edgeidp_cleanup_global,
                              apr_pool_cleanup_null);

    rv = ap_mutex_register(pconf, EDGEIDP_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT,
                           0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, NULL, "%s",
                     "EIDP00001: cannot register the edgeidp-counters "
                     "mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    return OK;
}

static int edgeidp_make_location(apr_pool_t *pconf, server_rec *s,
                                 edgeidp_loc_slot *slot)
{
    edgeidp_location_conf lc;
    edgeidp_str *groups = NULL;
    const char *portal = slot->portal_path;
    char err[EDGEIDP_ERR_LEN];
    int i;

    memset(&lc, 0, sizeof(lc));
    lc.kind = slot->kind;

    if (slot->groups != NULL && slot->groups->nelts > 0) {
        groups = apr_pcalloc(pconf, sizeof(*groups) * slot->groups->nelts);
        for (i = 0; i < slot->groups->nelts; i++) {
            edgeidp_str_set(&groups[i],
                            APR_ARRAY_IDX(slot->groups, i, const char *));
        }
        lc.groups = groups;
        lc.ngroups = slot->groups->nelts;
    }
    if (slot->kind == EDGEIDP_LOC_SAML_APP && slot->login_url != NULL) {
        portal = *slot->login_url;
    }
    edgeidp_str_set(&lc.app, slot->app);
    edgeidp_str_set(&lc.portal_path, portal);

    err[0] = '\0';
    if (edgeidp_location_new(edgeidp_global->ctx, &lc, &slot->loc, err,
                             sizeof(err)) != EDGEIDP_OK) {
        slot->loc = NULL;
        if (slot->automatic) {
            /* a section that may never be a portal: only SetHandler fails */
            return OK;
        }
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "EIDP00011: %s: %s", slot->where,
                     err[0] ? err : "invalid location");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    apr_pool_cleanup_register(pconf, slot->loc, edgeidp_cleanup_location,
                              apr_pool_cleanup_null);

    return OK;
}

/*
 * `SetHandler edgeidp-portal` alone mounts the portal at its <Location>
 * path. SetHandler belongs to the core, so every plain (non-regex)
 * <Location PATH> section of every server gets a PORTAL slot for PATH in
 * our record of that section; the handler uses the one the request's
 * merged configuration ends up with. EdgeIdPPortal PATH overrides it.
 */
static void edgeidp_add_section_portals(apr_pool_t *pconf, server_rec *s)
{
    core_server_config *sconf;
    core_dir_config *cd;
    ap_conf_vector_t **secs;
    edgeidp_dir_config_rec *conf;
    edgeidp_loc_slot *slot;
    size_t len;
    int i;

    for (; s != NULL; s = s->next) {
        sconf = ap_get_core_module_config(s->module_config);
        if (sconf == NULL || sconf->sec_url == NULL) {
            continue;
        }
        secs = (ap_conf_vector_t **)sconf->sec_url->elts;
        for (i = 0; i < sconf->sec_url->nelts; i++) {
            cd = ap_get_core_module_config(secs[i]);
            if (cd == NULL || cd->r != NULL || cd->d_is_fnmatch ||
                cd->d == NULL || cd->d[0] != '/') {
                continue;
            }
            conf = ap_get_module_config(secs[i], &edgeidp_module);
            if (conf == NULL) {
                conf = create_edgeidp_dir_config(pconf, cd->d);
                ap_set_module_config(secs[i], &edgeidp_module, conf);
            }
            if (conf->section != NULL) {
                continue;
            }
            len = strlen(cd->d);
            while (len > 1 && cd->d[len - 1] == '/') {
                len--;
            }
            slot = apr_pcalloc(pconf, sizeof(*slot));
            slot->kind = EDGEIDP_LOC_PORTAL;
            slot->portal_path = apr_pstrmemdup(pconf, cd->d, len);
            slot->where = slot->portal_path;
            slot->automatic = 1;
            slot->next = edgeidp_global->slots;
            edgeidp_global->slots = slot;
            conf->section = slot;
        }
    }
}

/*
 * check_config runs as root after the configuration is read, for a start,
 * a restart and `apache2 -t` alike (post_config does not run for -t), so
 * the core loads edgeidp.toml and checks every location here.
 */
static int edgeidp_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    edgeidp_server_config_rec *sconf =
        ap_get_module_config(s->module_config, &edgeidp_module);
    edgeidp_global_rec *g = edgeidp_global;
    edgeidp_loc_slot *slot;
    char err[EDGEIDP_ERR_LEN];

    g->s = s;
    g->checked = 1;

    if (sconf->config_file == NULL) {
        for (slot = g->slots; slot != NULL; slot = slot->next) {
            if (!slot->automatic) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                             "EIDP00010: %s: edgeidp directives need "
                             "EdgeIdPConfig FILE in the main server "
                             "configuration",
                             slot->where);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        return OK;
    }

    if (edgeidp_library_init() != EDGEIDP_OK) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s, "%s",
                     "EIDP00012: edgeidp_library_init failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    err[0] = '\0';
    if (edgeidp_ctx_load(sconf->config_file, &g->ctx, err, sizeof(err)) !=
        EDGEIDP_OK) {
        g->ctx = NULL;
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "EIDP00013: EdgeIdPConfig %s: %s", sconf->config_file,
                     err[0] ? err : "cannot load the configuration");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, g->ctx, edgeidp_cleanup_ctx,
                              apr_pool_cleanup_null);

    g->protect_default.kind = EDGEIDP_LOC_PROTECT;
    g->protect_default.where = sconf->config_file;
    if (edgeidp_make_location(pconf, s, &g->protect_default) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    edgeidp_add_section_portals(pconf, s);

    for (slot = g->slots; slot != NULL; slot = slot->next) {
        if (edgeidp_make_location(pconf, s, slot) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return OK;
}

static int edgeidp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    edgeidp_global_rec *g = edgeidp_global;
    struct ap_socache_hints hints;
    const char *err;
    apr_status_t rv;

    if (g == NULL || g->ctx == NULL) {
        return OK;
    }

    g->cache =
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, EDGEIDP_CACHE_PROVIDER,
                           AP_SOCACHE_PROVIDER_VERSION);
    if (g->cache == NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s, "%s",
                     "EIDP00020: edgeidp keeps failed-login counters in "
                     "the shmcb socache: add LoadModule socache_shmcb_module");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    err = g->cache->create(&g->cache_inst, NULL, ptemp, pconf);
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "EIDP00021: cannot create the counter cache: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    rv = ap_global_mutex_create(&g->mutex, NULL, EDGEIDP_MUTEX_TYPE, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "%s",
                     "EIDP00022: cannot create the edgeidp-counters mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = 64;
    hints.avg_obj_size = 16;
    hints.expiry_interval = 60;

    rv = g->cache->init(g->cache_inst, EDGEIDP_CACHE_NAMESPACE, &hints, s,
                        pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "%s",
                     "EIDP00023: cannot initialise the counter cache");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, g, edgeidp_cleanup_cache,
                              apr_pool_cleanup_null);

    g->store.arg = g;
    g->store.add = edgeidp_counter_add;
    edgeidp_ctx_set_counters(g->ctx, &g->store);

    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "EIDP00030: edgeidp %s loaded",
                 edgeidp_version());

    return OK;
}

static void edgeidp_child_init(apr_pool_t *p, server_rec *s)
{
    edgeidp_global_rec *g = edgeidp_global;
    apr_status_t rv;

    if (g == NULL || g->mutex == NULL) {
        return;
    }

    rv = apr_global_mutex_child_init(&g->mutex,
                                     apr_global_mutex_lockfile(g->mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "%s",
                     "EIDP00031: cannot attach the edgeidp-counters mutex");
    }
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(edgeidp_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(edgeidp_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(edgeidp_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(edgeidp_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    /* before mod_setenvif, mod_rewrite and everything else */
    ap_hook_post_read_request(edgeidp_strip_headers, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);

    ap_hook_check_authn(edgeidp_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(edgeidp_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, EDGEIDP_GROUP_PROVIDER,
                              AUTHZ_PROVIDER_VERSION, &edgeidp_group_provider,
                              AP_AUTH_INTERNAL_PER_CONF);

    ap_hook_fixups(edgeidp_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(edgeidp_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(edgeidp) = {
    STANDARD20_MODULE_STUFF,
    create_edgeidp_dir_config,    /* dir config creater */
    merge_edgeidp_dir_config,     /* dir merger */
    create_edgeidp_server_config, /* server config */
    NULL,                         /* merge server config */
    edgeidp_cmds,                 /* command apr_table_t */
    register_hooks                /* register hooks */
};
