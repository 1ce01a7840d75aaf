
/*
 * Copyright (C) edgeidp contributors
 * SPDX-License-Identifier: Apache-2.0
 *
 * ngx_http_edgeidp_module: the nginx glue of edgeidp. It follows the request
 * flow of edgeidp.h: identity headers sent by the client are removed from
 * every request (post-read phase), then the access phase asks the core what
 * to do (edgeidp_handle), runs a slow task (password check) in a thread
 * pool when the core asks for one, and applies the decision: continue with
 * identity headers for the upstream, or answer with the core's response.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <edgeidp/edgeidp.h>


#define NGX_HTTP_EDGEIDP_OFF          0

/* the largest portal POST body read into memory */
#define NGX_HTTP_EDGEIDP_MAX_BODY     16384

#define NGX_HTTP_EDGEIDP_ERR_LEN      1024

#define NGX_HTTP_EDGEIDP_MAX_KEY      512

#define NGX_HTTP_EDGEIDP_ZONE_NAME    "edgeidp_login"
#define NGX_HTTP_EDGEIDP_ZONE_SIZE    (1024 * 1024)


typedef enum {
    ngx_http_edgeidp_state_new = 0,
    ngx_http_edgeidp_state_body,
    ngx_http_edgeidp_state_task,
    ngx_http_edgeidp_state_ready,
    ngx_http_edgeidp_state_done
} ngx_http_edgeidp_state_e;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_queue_t                   queue;
} ngx_http_edgeidp_shctx_t;


typedef struct {
    ngx_http_edgeidp_shctx_t     *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_edgeidp_zone_t;


typedef struct {
    ngx_str_node_t                sn;
    ngx_queue_t                   queue;
    int64_t                       value;
    int64_t                       expires;
    u_char                        data[1];
} ngx_http_edgeidp_node_t;


/*
 * An identity header name as nginx wants it (key, lowcase_key, hash), made
 * once per worker: the core's names are the same pointers for every
 * decision of a context (edgeidp.h).
 */

#define NGX_HTTP_EDGEIDP_NAMES  8

typedef struct {
    const char                   *name;
    ngx_str_t                     key;
    u_char                       *lowcase_key;
    ngx_uint_t                    hash;
} ngx_http_edgeidp_name_t;


typedef struct {
    ngx_str_t                     config;
    edgeidp_ctx                  *ctx;
    ngx_shm_zone_t               *shm_zone;
    edgeidp_counter_store         store;
    ngx_uint_t                    nnames;
    ngx_http_edgeidp_name_t       names[NGX_HTTP_EDGEIDP_NAMES];
} ngx_http_edgeidp_main_conf_t;


typedef struct {
    ngx_int_t                     kind;
    ngx_array_t                  *groups;
    ngx_str_t                     app;
    ngx_str_t                     portal_path;
    ngx_str_t                     thread_pool_name;
#if (NGX_THREADS)
    ngx_thread_pool_t            *thread_pool;
#endif
    edgeidp_location             *loc;
} ngx_http_edgeidp_loc_conf_t;


typedef struct {
    ngx_http_edgeidp_state_e      state;
    ngx_int_t                     status;
    unsigned                      live:1;
    unsigned                      body_read:1;
    unsigned                      body_truncated:1;
    ngx_str_t                     body;
    ngx_array_t                  *cookies;
    edgeidp_request               req;
    edgeidp_decision              decision;
} ngx_http_edgeidp_ctx_t;


typedef struct {
    edgeidp_task                 *task;
} ngx_http_edgeidp_task_ctx_t;


typedef struct {
    ngx_str_t                     name;
    size_t                        offset;
} ngx_http_edgeidp_var_t;


static ngx_int_t ngx_http_edgeidp_strip_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_edgeidp_strip(ngx_http_request_t *r,
    edgeidp_ctx *ctx);
static ngx_int_t ngx_http_edgeidp_handler(ngx_http_request_t *r);
static void ngx_http_edgeidp_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_edgeidp_read_body(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx);
static ngx_int_t ngx_http_edgeidp_decide(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx);
static ngx_int_t ngx_http_edgeidp_fill_request(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx);
static ngx_int_t ngx_http_edgeidp_post_task(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx);
#if (NGX_THREADS)
static void ngx_http_edgeidp_task_handler(void *data, ngx_log_t *log);
static void ngx_http_edgeidp_task_event_handler(ngx_event_t *ev);
#endif
static ngx_int_t ngx_http_edgeidp_apply(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx);
static ngx_int_t ngx_http_edgeidp_respond(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx, ngx_chain_t **out);
static void ngx_http_edgeidp_send(ngx_http_request_t *r, ngx_chain_t *out);
static ngx_int_t ngx_http_edgeidp_set_upstream(ngx_http_request_t *r,
    edgeidp_decision *d);
static ngx_int_t ngx_http_edgeidp_set_variables(ngx_http_request_t *r,
    edgeidp_decision *d);
static void ngx_http_edgeidp_log(ngx_http_request_t *r, edgeidp_decision *d);
static ngx_int_t ngx_http_edgeidp_error(ngx_http_request_t *r,
    ngx_uint_t level, const char *what);
static void ngx_http_edgeidp_cleanup(void *data);
static ngx_int_t ngx_http_edgeidp_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_edgeidp_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static int64_t ngx_http_edgeidp_counter_add(void *arg, const char *key,
    size_t key_len, int64_t delta, int64_t expires);
static void ngx_http_edgeidp_expire(ngx_http_edgeidp_zone_t *zone,
    time_t now, ngx_uint_t force);
static ngx_int_t ngx_http_edgeidp_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_edgeidp_add_variables(ngx_conf_t *cf);
static void *ngx_http_edgeidp_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_edgeidp_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_edgeidp_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_edgeidp_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_edgeidp_init(ngx_conf_t *cf);
static char *ngx_http_edgeidp_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_edgeidp_ctx_cleanup(void *data);
static void ngx_http_edgeidp_location_cleanup(void *data);
static char *ngx_http_edgeidp_login_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_edgeidp_portal(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_edgeidp_protect(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_edgeidp_require_group(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_edgeidp_saml_app(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_edgeidp_commands[] = {

    { ngx_string("edgeidp_config"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_edgeidp_config,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_login_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_edgeidp_login_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_portal"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_edgeidp_portal,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_protect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_edgeidp_protect,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_require_group"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_edgeidp_require_group,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_saml_app"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_edgeidp_saml_app,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("edgeidp_login_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_edgeidp_loc_conf_t, portal_path),
      NULL },

    { ngx_string("edgeidp_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_edgeidp_loc_conf_t, thread_pool_name),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_edgeidp_module_ctx = {
    ngx_http_edgeidp_add_variables,        /* preconfiguration */
    ngx_http_edgeidp_init,                 /* postconfiguration */

    ngx_http_edgeidp_create_main_conf,     /* create main configuration */
    ngx_http_edgeidp_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_edgeidp_create_loc_conf,      /* create location configuration */
    ngx_http_edgeidp_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_edgeidp_module = {
    NGX_MODULE_V1,
    &ngx_http_edgeidp_module_ctx,          /* module context */
    ngx_http_edgeidp_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_edgeidp_var_t  ngx_http_edgeidp_vars[] = {
    { ngx_string("edgeidp_user"), offsetof(edgeidp_decision, user) },
    { ngx_string("edgeidp_email"), offsetof(edgeidp_decision, email) },
    { ngx_string("edgeidp_name"), offsetof(edgeidp_decision, name) },
    { ngx_string("edgeidp_groups"), offsetof(edgeidp_decision, groups) },
    { ngx_string("edgeidp_cookie"), offsetof(edgeidp_decision, cookie) },
    { ngx_null_string, 0 }
};

static ngx_int_t  ngx_http_edgeidp_var_index[5];

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* the post-read phase: remove spoofed identity headers, always */

static ngx_int_t
ngx_http_edgeidp_strip_handler(ngx_http_request_t *r)
{
    ngx_http_edgeidp_main_conf_t  *emcf;

    emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

    if (emcf->ctx == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_edgeidp_strip(r, emcf->ctx) != NGX_OK) {
        return ngx_http_edgeidp_error(r, NGX_LOG_CRIT,
                                      "could not remove identity headers");
    }

    return NGX_DECLINED;
}


/*
 * A header cannot be deleted from an ngx_list_t in place: proxy, fastcgi
 * and grpc walk the list and ignore nothing. So when the request carries
 * an identity header, the list is rebuilt without it. Pointers such as
 * r->headers_in.host keep pointing at the old elements, which stay valid in
 * r->pool.
 */

static ngx_int_t
ngx_http_edgeidp_strip(ngx_http_request_t *r, edgeidp_ctx *ctx)
{
    ngx_uint_t        i, n, found;
    ngx_list_t        headers;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *nh;

    n = 0;
    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        n++;

        if (edgeidp_is_identity_header(ctx, (const char *) h[i].key.data,
                                       h[i].key.len))
        {
            found++;
        }
    }

    if (found == 0) {
        return NGX_OK;
    }

    /* the first part is a member of the list: keep a copy of it */

    headers = r->headers_in.headers;

    if (ngx_list_init(&r->headers_in.headers, r->pool, n - found + 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part = &headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (edgeidp_is_identity_header(ctx, (const char *) h[i].key.data,
                                       h[i].key.len))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "edgeidp: removed request header \"%V\"",
                          &h[i].key);
            continue;
        }

        nh = ngx_list_push(&r->headers_in.headers);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        *nh = h[i];
    }

    return NGX_OK;
}


/* the access phase */

static ngx_int_t
ngx_http_edgeidp_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_pool_cleanup_t            *cln;
    ngx_http_edgeidp_ctx_t        *ctx;
    ngx_http_edgeidp_loc_conf_t   *elcf;
    ngx_http_edgeidp_main_conf_t  *emcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_edgeidp_module);

    if (elcf->loc == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "edgeidp handler");

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeidp_module);

    if (ctx != NULL) {

        switch (ctx->state) {

        case ngx_http_edgeidp_state_body:
        case ngx_http_edgeidp_state_task:
            return NGX_AGAIN;

        case ngx_http_edgeidp_state_ready:
            return ngx_http_edgeidp_apply(r, ctx);

        case ngx_http_edgeidp_state_done:
            return ctx->status;

        default: /* ngx_http_edgeidp_state_new: the body was read */
            break;
        }

    } else {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_edgeidp_ctx_t));
        if (ctx == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        cln->handler = ngx_http_edgeidp_cleanup;
        cln->data = ctx;

        ngx_http_set_ctx(r, ctx, ngx_http_edgeidp_module);

        /*
         * identity headers set for an earlier location (before an internal
         * redirect) are removed, so they are never sent twice
         */

        emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

        if (ngx_http_edgeidp_strip(r, emcf->ctx) != NGX_OK) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT,
                                          "could not remove identity headers");
        }
    }

    if (elcf->kind == EDGEIDP_LOC_PORTAL
        && r->method == NGX_HTTP_POST
        && !ctx->body_read)
    {
        if (r->headers_in.content_length_n > NGX_HTTP_EDGEIDP_MAX_BODY) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "edgeidp: portal request body of %O bytes is "
                          "larger than %d", r->headers_in.content_length_n,
                          NGX_HTTP_EDGEIDP_MAX_BODY);
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        ctx->state = ngx_http_edgeidp_state_body;

        rc = ngx_http_read_client_request_body(r,
                                               ngx_http_edgeidp_body_handler);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            ctx->state = ngx_http_edgeidp_state_done;
            ctx->status = rc;
            return rc;
        }

        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }

    return ngx_http_edgeidp_decide(r, ctx);
}


static void
ngx_http_edgeidp_body_handler(ngx_http_request_t *r)
{
    ngx_http_edgeidp_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeidp_module);

    ctx->body_read = 1;
    ctx->state = ngx_http_edgeidp_state_new;

    if (ngx_http_edgeidp_read_body(r, ctx) != NGX_OK) {
        ctx->state = ngx_http_edgeidp_state_done;
        ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_ERR,
                                             "could not read the request body");
    }

    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_edgeidp_read_body(ngx_http_request_t *r, ngx_http_edgeidp_ctx_t *ctx)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size > NGX_HTTP_EDGEIDP_MAX_BODY) {
        size = NGX_HTTP_EDGEIDP_MAX_BODY;
        ctx->body_truncated = 1;
    }

    if (size == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->body.data = p;

    for (cl = r->request_body->bufs; cl && size > 0; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p,
                              ngx_min(size, b->file_last - b->file_pos),
                              b->file_pos);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

        } else {
            n = ngx_min(size, b->last - b->pos);
            p = ngx_cpymem(p, b->pos, n);
            size -= n;
            continue;
        }

        p += n;
        size -= n;
    }

    ctx->body.len = p - ctx->body.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_edgeidp_decide(ngx_http_request_t *r, ngx_http_edgeidp_ctx_t *ctx)
{
    ngx_http_edgeidp_loc_conf_t   *elcf;
    ngx_http_edgeidp_main_conf_t  *emcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_edgeidp_module);
    emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

    if (ngx_http_edgeidp_fill_request(r, ctx) != NGX_OK) {
        return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
    }

    ngx_memzero(&ctx->decision, sizeof(edgeidp_decision));

    (void) edgeidp_handle(emcf->ctx, elcf->loc, &ctx->req, &ctx->decision);
    ctx->live = 1;

    if (ctx->decision.task == NULL) {
        ctx->state = ngx_http_edgeidp_state_ready;
        return ngx_http_edgeidp_apply(r, ctx);
    }

    return ngx_http_edgeidp_post_task(r, ctx);
}


static ngx_int_t
ngx_http_edgeidp_fill_request(ngx_http_request_t *r,
    ngx_http_edgeidp_ctx_t *ctx)
{
    size_t                      len;
    u_char                     *p;
    ngx_str_t                   host;
    ngx_uint_t                  i;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h, **cookies;
    edgeidp_request            *req;
    ngx_http_core_srv_conf_t   *cscf;

    req = &ctx->req;
    ngx_memzero(req, sizeof(edgeidp_request));

#define ngx_http_edgeidp_str(dst, src)                                       \
    (dst).data = (const char *) (src).data;                                  \
    (dst).len = (src).len

    ngx_http_edgeidp_str(req->method, r->method_name);
    ngx_http_edgeidp_str(req->uri, r->uri);
    ngx_http_edgeidp_str(req->args, r->args);

    host = r->headers_in.server;

    if (host.len == 0) {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        host = cscf->server_name;
    }

    ngx_http_edgeidp_str(req->host, host);

#if (NGX_HTTP_SSL)
    req->https = (r->connection->ssl != NULL);
#endif

    ngx_http_edgeidp_str(req->client_addr, r->connection->addr_text);

    /* every Cookie header, joined with "; " */

    cookies = r->headers_in.cookies.elts;
    len = 0;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        len += cookies[i]->value.len + 2;
    }

    if (len) {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        req->cookie.data = (const char *) p;

        for (i = 0; i < r->headers_in.cookies.nelts; i++) {
            if (i) {
                *p++ = ';';
                *p++ = ' ';
            }

            p = ngx_cpymem(p, cookies[i]->value.data, cookies[i]->value.len);
        }

        req->cookie.len = p - (u_char *) req->cookie.data;
    }

    if (r->headers_in.content_type) {
        ngx_http_edgeidp_str(req->content_type,
                             r->headers_in.content_type->value);
    }

    ngx_http_edgeidp_str(req->body, ctx->body);
    req->body_truncated = ctx->body_truncated;

    /* the headers that tell a navigation from an API call */

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Accept") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               sizeof("Accept") - 1) == 0)
        {
            ngx_http_edgeidp_str(req->accept, h[i].value);

        } else if (h[i].key.len == sizeof("Sec-Fetch-Mode") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-Fetch-Mode",
                                      sizeof("Sec-Fetch-Mode") - 1) == 0)
        {
            ngx_http_edgeidp_str(req->sec_fetch_mode, h[i].value);

        } else if (h[i].key.len == sizeof("X-Requested-With") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "X-Requested-With",
                                      sizeof("X-Requested-With") - 1) == 0)
        {
            ngx_http_edgeidp_str(req->x_requested_with, h[i].value);
        }
    }

#undef ngx_http_edgeidp_str

    req->now = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_edgeidp_post_task(ngx_http_request_t *r, ngx_http_edgeidp_ctx_t *ctx)
{
#if (NGX_THREADS)
    ngx_thread_task_t             *task;
    ngx_http_edgeidp_loc_conf_t   *elcf;
    ngx_http_edgeidp_task_ctx_t   *tctx;
#endif
    ngx_http_edgeidp_main_conf_t  *emcf;

    static ngx_uint_t              warned;

#if (NGX_THREADS)
    elcf = ngx_http_get_module_loc_conf(r, ngx_http_edgeidp_module);

    if (elcf->thread_pool != NULL) {
        task = ngx_thread_task_alloc(r->pool,
                                     sizeof(ngx_http_edgeidp_task_ctx_t));
        if (task == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        tctx = task->ctx;
        tctx->task = ctx->decision.task;

        task->handler = ngx_http_edgeidp_task_handler;
        task->event.data = r;
        task->event.handler = ngx_http_edgeidp_task_event_handler;

        if (ngx_thread_task_post(elcf->thread_pool, task) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "edgeidp: could not queue the password check");
            edgeidp_decision_release(&ctx->decision);
            ctx->live = 0;
            ctx->state = ngx_http_edgeidp_state_done;
            ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
            return ctx->status;
        }

        ctx->state = ngx_http_edgeidp_state_task;

        r->main->blocked++;
        r->aio = 1;

        return NGX_AGAIN;
    }
#endif

    if (!warned) {
        warned = 1;
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "edgeidp: no thread pool, password checks run on the "
                      "event loop and block this worker");
    }

    emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

    edgeidp_task_run(ctx->decision.task, 0);
    (void) edgeidp_task_finish(emcf->ctx, &ctx->decision);

    ctx->state = ngx_http_edgeidp_state_ready;

    return ngx_http_edgeidp_apply(r, ctx);
}


#if (NGX_THREADS)

static void
ngx_http_edgeidp_task_handler(void *data, ngx_log_t *log)
{
    ngx_http_edgeidp_task_ctx_t  *tctx = data;

    /* the core touches no nginx state here */

    edgeidp_task_run(tctx->task, EDGEIDP_TASK_IDLE_PRIORITY);
}


static void
ngx_http_edgeidp_task_event_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_edgeidp_ctx_t        *ctx;
    ngx_http_edgeidp_main_conf_t  *emcf;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "edgeidp task done");

    r->main->blocked--;
    r->aio = 0;

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeidp_module);
    emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

    (void) edgeidp_task_finish(emcf->ctx, &ctx->decision);

    ctx->state = ngx_http_edgeidp_state_ready;

#if (NGX_HTTP_V2)
    if (r->stream) {
        /*
         * for HTTP/2, update write event to make sure processing will
         * reach the main request to handle the result
         */
        r->main->connection->write->ready = 1;
    }
#endif

    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}

#endif


static ngx_int_t
ngx_http_edgeidp_apply(ngx_http_request_t *r, ngx_http_edgeidp_ctx_t *ctx)
{
    ngx_int_t          rc;
    ngx_uint_t         i;
    ngx_str_t         *cookie;
    ngx_chain_t       *out;
    edgeidp_decision  *d;

    d = &ctx->decision;

    ngx_http_edgeidp_log(r, d);

    ctx->state = ngx_http_edgeidp_state_done;

    if (d->task != NULL || d->status < 0 || d->status > 999) {
        ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_ALERT,
                                             "the core returned no decision");
        goto release;
    }

    if (d->status != 0) {
        out = NULL;
        rc = ngx_http_edgeidp_respond(r, ctx, &out);

        /*
         * everything was copied to r->pool; finalizing may free the
         * request, so the decision is released and ctx updated first
         */

        edgeidp_decision_release(d);
        ctx->live = 0;
        ctx->status = (rc == NGX_OK) ? NGX_DONE : rc;

        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_edgeidp_send(r, out);
        return NGX_DONE;
    }

    /* continue: identity for upstreams and variables, refreshed cookies */

    if (ngx_http_edgeidp_set_upstream(r, d) != NGX_OK
        || ngx_http_edgeidp_set_variables(r, d) != NGX_OK)
    {
        ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        goto release;
    }

    for (i = 0; i < d->nheaders; i++) {
        if (d->headers[i].name.len != sizeof("Set-Cookie") - 1
            || ngx_strncasecmp((u_char *) d->headers[i].name.data,
                               (u_char *) "Set-Cookie",
                               sizeof("Set-Cookie") - 1) != 0)
        {
            continue;
        }

        if (ctx->cookies == NULL) {
            ctx->cookies = ngx_array_create(r->pool, 1, sizeof(ngx_str_t));
            if (ctx->cookies == NULL) {
                ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_CRIT,
                                                     "out of memory");
                goto release;
            }
        }

        cookie = ngx_array_push(ctx->cookies);
        if (cookie == NULL) {
            ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_CRIT,
                                                 "out of memory");
            goto release;
        }

        cookie->len = d->headers[i].value.len;
        cookie->data = ngx_pnalloc(r->pool, cookie->len);
        if (cookie->data == NULL) {
            ctx->status = ngx_http_edgeidp_error(r, NGX_LOG_CRIT,
                                                 "out of memory");
            goto release;
        }

        ngx_memcpy(cookie->data, d->headers[i].value.data, cookie->len);
    }

    ctx->status = NGX_OK;

release:

    edgeidp_decision_release(d);
    ctx->live = 0;

    return ctx->status;
}


/*
 * Copies the core's answer into the request: headers into headers_out, the
 * body into *out. Returns NGX_OK when ngx_http_edgeidp_send() should send
 * it, or a status for nginx to answer with: a 4xx/5xx without a body goes
 * to nginx's error pages (so error_page applies).
 */

static ngx_int_t
ngx_http_edgeidp_respond(ngx_http_request_t *r, ngx_http_edgeidp_ctx_t *ctx,
    ngx_chain_t **out)
{
    u_char                *p;
    ngx_uint_t             i;
    ngx_buf_t             *b;
    ngx_chain_t           *cl;
    ngx_table_elt_t       *h;
    edgeidp_decision      *d;
    const edgeidp_header  *eh;

    d = &ctx->decision;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    for (i = 0; i < d->nheaders; i++) {
        eh = &d->headers[i];

        if (eh->name.len == 0
            || (eh->name.len == sizeof("Content-Length") - 1
                && ngx_strncasecmp((u_char *) eh->name.data,
                                   (u_char *) "Content-Length",
                                   sizeof("Content-Length") - 1) == 0))
        {
            continue;
        }

        p = ngx_pnalloc(r->pool, eh->value.len + 1);
        if (p == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        ngx_memcpy(p, eh->value.data, eh->value.len);
        p[eh->value.len] = '\0';

        if (eh->name.len == sizeof("Content-Type") - 1
            && ngx_strncasecmp((u_char *) eh->name.data,
                               (u_char *) "Content-Type",
                               sizeof("Content-Type") - 1) == 0)
        {
            r->headers_out.content_type.data = p;
            r->headers_out.content_type.len = eh->value.len;
            r->headers_out.content_type_len = eh->value.len;
            r->headers_out.content_type_lowcase = NULL;
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        h->hash = 1;
        h->key.len = eh->name.len;
        h->key.data = ngx_pnalloc(r->pool, eh->name.len);
        if (h->key.data == NULL) {
            return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
        }

        ngx_memcpy(h->key.data, eh->name.data, eh->name.len);
        h->value.data = p;
        h->value.len = eh->value.len;
        h->lowcase_key = NULL;
    }

    if (d->body.len == 0 && d->status >= NGX_HTTP_BAD_REQUEST) {
        return d->status;
    }

    r->headers_out.status = d->status;
    r->headers_out.content_length_n = d->body.len;

    if (d->body.len == 0) {
        r->header_only = 1;
        return NGX_OK;
    }

    b = ngx_create_temp_buf(r->pool, d->body.len);
    if (b == NULL) {
        return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
    }

    b->last = ngx_cpymem(b->last, d->body.data, d->body.len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return ngx_http_edgeidp_error(r, NGX_LOG_CRIT, "out of memory");
    }

    cl->buf = b;
    cl->next = NULL;
    *out = cl;

    return NGX_OK;
}


/*
 * Sends the answer from the access phase. Like a content handler, it
 * finalizes the request itself; the caller then returns NGX_DONE, which
 * stops the phase engine. r may be freed when this returns.
 */

static void
ngx_http_edgeidp_send(ngx_http_request_t *r, ngx_chain_t *out)
{
    ngx_int_t  rc;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || out == NULL) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_output_filter(r, out));
}


static ngx_http_edgeidp_name_t *
ngx_http_edgeidp_name(ngx_http_request_t *r, const edgeidp_str *name)
{
    ngx_uint_t                     i;
    ngx_pool_t                    *pool;
    ngx_http_edgeidp_name_t       *n, *tmp;
    ngx_http_edgeidp_main_conf_t  *emcf;

    emcf = ngx_http_get_module_main_conf(r, ngx_http_edgeidp_module);

    for (i = 0; i < emcf->nnames; i++) {
        if (emcf->names[i].name == name->data
            && emcf->names[i].key.len == name->len)
        {
            return &emcf->names[i];
        }
    }

    /* a new name: kept for the cycle's life, or (table full) for this request */

    if (emcf->nnames < NGX_HTTP_EDGEIDP_NAMES) {
        n = &emcf->names[emcf->nnames];
        pool = ngx_cycle->pool;

    } else {
        tmp = ngx_palloc(r->pool, sizeof(ngx_http_edgeidp_name_t));
        if (tmp == NULL) {
            return NULL;
        }

        n = tmp;
        pool = r->pool;
    }

    n->key.data = ngx_pnalloc(pool, 2 * name->len + 1);
    if (n->key.data == NULL) {
        return NULL;
    }

    n->key.len = name->len;
    ngx_memcpy(n->key.data, name->data, name->len);
    n->key.data[name->len] = '\0';

    n->lowcase_key = n->key.data + name->len + 1;
    n->hash = ngx_hash_strlow(n->lowcase_key, n->key.data, name->len);
    n->name = name->data;

    if (pool == ngx_cycle->pool) {
        emcf->nnames++;
    }

    return n;
}


static ngx_int_t
ngx_http_edgeidp_set_upstream(ngx_http_request_t *r, edgeidp_decision *d)
{
    u_char                   *p;
    size_t                    len;
    ngx_uint_t                i;
    ngx_table_elt_t          *h;
    const edgeidp_header     *eh;
    ngx_http_edgeidp_name_t  *n;

    /* one copy of all values, each NUL-terminated */

    len = 0;

    for (i = 0; i < d->nupstream; i++) {
        len += d->upstream[i].value.len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < d->nupstream; i++) {
        eh = &d->upstream[i];

        if (eh->name.len == 0) {
            continue;
        }

        n = ngx_http_edgeidp_name(r, &eh->name);
        if (n == NULL) {
            return NGX_ERROR;
        }

        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->key = n->key;
        h->lowcase_key = n->lowcase_key;
        h->hash = n->hash;

        h->value.len = eh->value.len;
        h->value.data = p;
        p = ngx_cpymem(p, eh->value.data, eh->value.len);
        *p++ = '\0';
    }

    return NGX_OK;
}


/*
 * The variables are written into r->variables explicitly, so that they
 * survive internal redirects, which clear the module ctx.
 */

static ngx_int_t
ngx_http_edgeidp_set_variables(ngx_http_request_t *r, edgeidp_decision *d)
{
    u_char                     *p;
    size_t                      len;
    ngx_uint_t                  i;
    edgeidp_str                *s;
    ngx_http_variable_value_t  *v;

    len = 0;

    for (i = 0; ngx_http_edgeidp_vars[i].name.len; i++) {
        s = (edgeidp_str *) ((u_char *) d + ngx_http_edgeidp_vars[i].offset);
        len += s->len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; ngx_http_edgeidp_vars[i].name.len; i++) {
        s = (edgeidp_str *) ((u_char *) d + ngx_http_edgeidp_vars[i].offset);
        v = &r->variables[ngx_http_edgeidp_var_index[i]];

        if (s->len == 0) {
            v->not_found = 1;
            v->valid = 0;
            continue;
        }

        v->data = p;
        p = ngx_cpymem(p, s->data, s->len);
        v->len = s->len;
        v->valid = 1;
        v->no_cacheable = 0;
        v->not_found = 0;
        v->escape = 0;
    }

    return NGX_OK;
}


static void
ngx_http_edgeidp_log(ngx_http_request_t *r, edgeidp_decision *d)
{
    ngx_str_t   msg;
    ngx_uint_t  level;

    if (d->log_level <= 0 || d->log.len == 0) {
        return;
    }

    /* the core uses syslog's numbers; nginx's are one higher */

    level = d->log_level + 1;

    if (level < NGX_LOG_EMERG) {
        level = NGX_LOG_EMERG;
    }

    if (level > NGX_LOG_DEBUG) {
        level = NGX_LOG_DEBUG;
    }

    msg.data = (u_char *) d->log.data;
    msg.len = d->log.len;

    if (level == NGX_LOG_DEBUG) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "edgeidp: %V", &msg);
        return;
    }

    ngx_log_error(level, r->connection->log, 0, "edgeidp: %V", &msg);
}


static ngx_int_t
ngx_http_edgeidp_error(ngx_http_request_t *r, ngx_uint_t level,
    const char *what)
{
    ngx_log_error(level, r->connection->log, 0, "edgeidp: %s", what);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static void
ngx_http_edgeidp_cleanup(void *data)
{
    ngx_http_edgeidp_ctx_t  *ctx = data;

    if (ctx->live) {
        edgeidp_decision_release(&ctx->decision);
        ctx->live = 0;
    }
}


/* adds the Set-Cookie headers of a "continue" decision to any response */

static ngx_int_t
ngx_http_edgeidp_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t               i;
    ngx_str_t               *cookie;
    ngx_table_elt_t         *h;
    ngx_http_edgeidp_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_edgeidp_module);

    if (ctx == NULL || ctx->cookies == NULL) {
        return ngx_http_next_header_filter(r);
    }

    cookie = ctx->cookies->elts;

    for (i = 0; i < ctx->cookies->nelts; i++) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Set-Cookie");
        h->value = cookie[i];
        h->lowcase_key = NULL;
    }

    ctx->cookies = NULL;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_edgeidp_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    /* set by ngx_http_edgeidp_set_variables(); otherwise empty */

    v->not_found = 1;

    return NGX_OK;
}


/* the shared memory zone for failed-login counters */

static int64_t
ngx_http_edgeidp_counter_add(void *arg, const char *key, size_t key_len,
    int64_t delta, int64_t expires)
{
    size_t                    size;
    time_t                    now;
    int64_t                   value;
    uint32_t                  hash;
    ngx_str_t                 k;
    ngx_shm_zone_t           *shm_zone = arg;
    ngx_str_node_t           *sn;
    ngx_http_edgeidp_node_t  *node;
    ngx_http_edgeidp_zone_t  *zone;

    zone = shm_zone->data;

    if (zone == NULL || zone->sh == NULL || key == NULL
        || key_len == 0 || key_len > NGX_HTTP_EDGEIDP_MAX_KEY)
    {
        return -1;
    }

    k.data = (u_char *) key;
    k.len = key_len;
    hash = ngx_crc32_short(k.data, k.len);

    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_http_edgeidp_expire(zone, now, 0);

    sn = ngx_str_rbtree_lookup(&zone->sh->rbtree, &k, hash);

    if (sn != NULL) {
        node = (ngx_http_edgeidp_node_t *) sn;

        if (node->expires <= now) {
            node->value = 0;
            node->expires = expires;
        }

        ngx_queue_remove(&node->queue);

    } else {
        size = offsetof(ngx_http_edgeidp_node_t, data) + key_len;

        node = ngx_slab_alloc_locked(zone->shpool, size);

        if (node == NULL) {
            ngx_http_edgeidp_expire(zone, now, 1);

            node = ngx_slab_alloc_locked(zone->shpool, size);
            if (node == NULL) {
                ngx_shmtx_unlock(&zone->shpool->mutex);
                return -1;
            }
        }

        ngx_memcpy(node->data, key, key_len);
        node->sn.str.data = node->data;
        node->sn.str.len = key_len;
        node->sn.node.key = hash;
        node->value = 0;
        node->expires = expires;

        ngx_rbtree_insert(&zone->sh->rbtree, &node->sn.node);
    }

    ngx_queue_insert_head(&zone->sh->queue, &node->queue);

    node->value += delta;
    value = node->value;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return value;
}


/*
 * Removes up to two expired counters from the tail (the least recently
 * used); with force, removes up to two of the oldest counters whatever
 * their expiry (the zone is full). Called with the zone locked.
 */

static void
ngx_http_edgeidp_expire(ngx_http_edgeidp_zone_t *zone, time_t now,
    ngx_uint_t force)
{
    ngx_uint_t                n;
    ngx_queue_t              *q;
    ngx_http_edgeidp_node_t  *node;

    for (n = 0; n < 2; n++) {

        if (ngx_queue_empty(&zone->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&zone->sh->queue);
        node = ngx_queue_data(q, ngx_http_edgeidp_node_t, queue);

        if (!force && node->expires > now) {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&zone->sh->rbtree, &node->sn.node);
        ngx_slab_free_locked(zone->shpool, node);
    }
}


static ngx_int_t
ngx_http_edgeidp_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_edgeidp_zone_t  *ozone = data;

    size_t                    len;
    ngx_http_edgeidp_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;

        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool, sizeof(ngx_http_edgeidp_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_str_rbtree_insert_value);

    ngx_queue_init(&zone->sh->queue);

    len = sizeof(" in edgeidp zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in edgeidp zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}


/* configuration */

static ngx_int_t
ngx_http_edgeidp_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t     *var;
    ngx_http_edgeidp_var_t  *v;

    for (v = ngx_http_edgeidp_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, 0);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_http_edgeidp_variable;
        var->data = 0;
    }

    return NGX_OK;
}


static void *
ngx_http_edgeidp_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_edgeidp_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeidp_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     emcf->config = { 0, NULL };
     *     emcf->ctx = NULL;
     *     emcf->shm_zone = NULL;
     *     emcf->store = { NULL, NULL };
     */

    return emcf;
}


static char *
ngx_http_edgeidp_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_edgeidp_main_conf_t *emcf = conf;

    ngx_str_t                 name;
    ngx_http_edgeidp_zone_t  *zone;

    if (emcf->ctx == NULL) {
        return NGX_CONF_OK;
    }

    if (emcf->shm_zone == NULL) {
        zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeidp_zone_t));
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&name, NGX_HTTP_EDGEIDP_ZONE_NAME);

        emcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                               NGX_HTTP_EDGEIDP_ZONE_SIZE,
                                               &ngx_http_edgeidp_module);
        if (emcf->shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        if (emcf->shm_zone->data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "zone \"%V\" is already used", &name);
            return NGX_CONF_ERROR;
        }

        emcf->shm_zone->init = ngx_http_edgeidp_init_zone;
        emcf->shm_zone->data = zone;
    }

    emcf->store.arg = emcf->shm_zone;
    emcf->store.add = ngx_http_edgeidp_counter_add;

    edgeidp_ctx_set_counters(emcf->ctx, &emcf->store);

    return NGX_CONF_OK;
}


static void *
ngx_http_edgeidp_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_edgeidp_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeidp_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->app = { 0, NULL };
     *     conf->portal_path = { 0, NULL };
     *     conf->thread_pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     *     conf->loc = NULL;
     */

    conf->kind = NGX_CONF_UNSET;
    conf->groups = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_edgeidp_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_edgeidp_loc_conf_t *prev = parent;
    ngx_http_edgeidp_loc_conf_t *conf = child;

    u_char                         err[NGX_HTTP_EDGEIDP_ERR_LEN];
    ngx_pool_cleanup_t            *cln;
    edgeidp_location_conf          lc;
    ngx_http_edgeidp_main_conf_t  *emcf;

    /* edgeidp_require_group alone protects a location: never fail open */

    if (conf->kind == NGX_CONF_UNSET && conf->groups != NGX_CONF_UNSET_PTR) {
        conf->kind = EDGEIDP_LOC_PROTECT;
    }

    ngx_conf_merge_value(conf->kind, prev->kind, NGX_HTTP_EDGEIDP_OFF);
    ngx_conf_merge_ptr_value(conf->groups, prev->groups, NULL);
    ngx_conf_merge_str_value(conf->app, prev->app, "");
    ngx_conf_merge_str_value(conf->portal_path, prev->portal_path, "");
    ngx_conf_merge_str_value(conf->thread_pool_name, prev->thread_pool_name,
                             "default");

    if (conf->kind == NGX_HTTP_EDGEIDP_OFF) {
        return NGX_CONF_OK;
    }

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_edgeidp_module);

    if (emcf->ctx == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "edgeidp needs \"edgeidp_config\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (conf->kind == EDGEIDP_LOC_SAML_APP && conf->app.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "edgeidp: no application for a SAML location");
        return NGX_CONF_ERROR;
    }

#if (NGX_THREADS)
    if (conf->kind == EDGEIDP_LOC_PORTAL
        && !(conf->thread_pool_name.len == 3
             && ngx_strncmp(conf->thread_pool_name.data, "off", 3) == 0))
    {
        conf->thread_pool = ngx_thread_pool_add(cf, &conf->thread_pool_name);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }
#endif

    ngx_memzero(&lc, sizeof(edgeidp_location_conf));

    lc.kind = (edgeidp_location_kind) conf->kind;

    if (conf->groups != NULL) {
        lc.groups = conf->groups->elts;
        lc.ngroups = conf->groups->nelts;
    }

    lc.app.data = (const char *) conf->app.data;
    lc.app.len = conf->app.len;
    lc.portal_path.data = (const char *) conf->portal_path.data;
    lc.portal_path.len = conf->portal_path.len;

    err[0] = '\0';

    if (edgeidp_location_new(emcf->ctx, &lc, &conf->loc, (char *) err,
                             sizeof(err))
        != EDGEIDP_OK)
    {
        conf->loc = NULL;
        err[sizeof(err) - 1] = '\0';
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        edgeidp_location_free(conf->loc);
        conf->loc = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_edgeidp_location_cleanup;
    cln->data = conf->loc;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_edgeidp_init(ngx_conf_t *cf)
{
    ngx_uint_t                 i;
    ngx_int_t                  index;
    ngx_http_handler_pt       *h;
    ngx_http_core_main_conf_t *cmcf;

    for (i = 0; ngx_http_edgeidp_vars[i].name.len; i++) {
        index = ngx_http_get_variable_index(cf, &ngx_http_edgeidp_vars[i].name);
        if (index == NGX_ERROR) {
            return NGX_ERROR;
        }

        ngx_http_edgeidp_var_index[i] = index;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_edgeidp_strip_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_edgeidp_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_edgeidp_header_filter;

    return NGX_OK;
}


static char *
ngx_http_edgeidp_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeidp_main_conf_t *emcf = conf;

    u_char               err[NGX_HTTP_EDGEIDP_ERR_LEN];
    ngx_str_t           *value, path;
    edgeidp_ctx         *ctx;
    edgeidp_status       rc;
    ngx_pool_cleanup_t  *cln;

    if (emcf->config.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* ngx_conf_full_name() does not terminate a path that was absolute */

    emcf->config.data = ngx_pnalloc(cf->pool, path.len + 1);
    if (emcf->config.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(emcf->config.data, path.data, path.len);
    emcf->config.data[path.len] = '\0';
    emcf->config.len = path.len;

    if (edgeidp_library_init() != EDGEIDP_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "edgeidp: could not initialise the library");
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx = NULL;
    err[0] = '\0';

    rc = edgeidp_ctx_load((const char *) emcf->config.data, &ctx,
                          (char *) err, sizeof(err));

    if (rc != EDGEIDP_OK || ctx == NULL) {
        err[sizeof(err) - 1] = '\0';

        if (err[0] == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "edgeidp: could not load \"%V\" (status %d)",
                               &emcf->config, (int) rc);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        }

        cln->handler = NULL;
        edgeidp_ctx_free(ctx);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_edgeidp_ctx_cleanup;
    cln->data = ctx;

    emcf->ctx = ctx;

    return NGX_CONF_OK;
}


static void
ngx_http_edgeidp_ctx_cleanup(void *data)
{
    edgeidp_ctx_free(data);
}


static void
ngx_http_edgeidp_location_cleanup(void *data)
{
    edgeidp_location_free(data);
}


static char *
ngx_http_edgeidp_login_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeidp_main_conf_t *emcf = conf;

    u_char                   *p;
    ssize_t                   size;
    ngx_str_t                *value, name, s;
    ngx_http_edgeidp_zone_t  *zone;

    if (emcf->shm_zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected NAME:SIZE",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeidp_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    emcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_edgeidp_module);
    if (emcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (emcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    emcf->shm_zone->init = ngx_http_edgeidp_init_zone;
    emcf->shm_zone->data = zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_edgeidp_portal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeidp_loc_conf_t *elcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (elcf->kind != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->named
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len == 0 || clcf->name.data[0] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"edgeidp_portal\" needs a prefix location, "
                           "such as \"location /edgeidp/\"");
        return NGX_CONF_ERROR;
    }

    elcf->kind = EDGEIDP_LOC_PORTAL;

    /* "/edgeidp/" is mounted at "/edgeidp" */

    elcf->portal_path = clcf->name;

    while (elcf->portal_path.len > 1
           && elcf->portal_path.data[elcf->portal_path.len - 1] == '/')
    {
        elcf->portal_path.len--;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_edgeidp_protect(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeidp_loc_conf_t *elcf = conf;

    ngx_str_t  *value;

    if (elcf->kind != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcasecmp(value[1].data, (u_char *) "on") == 0) {
        elcf->kind = EDGEIDP_LOC_PROTECT;

    } else if (ngx_strcasecmp(value[1].data, (u_char *) "off") == 0) {
        elcf->kind = NGX_HTTP_EDGEIDP_OFF;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"on\" or \"off\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_edgeidp_require_group(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_edgeidp_loc_conf_t *elcf = conf;

    ngx_str_t    *value;
    ngx_uint_t    i;
    edgeidp_str  *g;

    if (elcf->groups != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    elcf->groups = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(edgeidp_str));
    if (elcf->groups == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty group name");
            return NGX_CONF_ERROR;
        }

        g = ngx_array_push(elcf->groups);
        if (g == NULL) {
            return NGX_CONF_ERROR;
        }

        g->data = (const char *) value[i].data;
        g->len = value[i].len;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_edgeidp_saml_app(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edgeidp_loc_conf_t *elcf = conf;

    ngx_str_t  *value;

    if (elcf->kind != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty application name");
        return NGX_CONF_ERROR;
    }

    elcf->kind = EDGEIDP_LOC_SAML_APP;
    elcf->app = value[1];

    return NGX_CONF_OK;
}
