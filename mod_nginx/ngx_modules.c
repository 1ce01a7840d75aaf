
/*
 * Copyright (C) edgeidp contributors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The module table that nginx's auto/make writes for a dynamic module
 * (objs/ngx_http_edgeidp_module_modules.c). ngx_load_module() looks these
 * symbols up with dlsym(); they are the only ones the .so exports
 * (ngx_http_edgeidp_module.map).
 */


#include <ngx_config.h>
#include <ngx_core.h>


#pragma GCC visibility push(default)

extern ngx_module_t  ngx_http_edgeidp_module;


ngx_module_t *ngx_modules[] = {
    &ngx_http_edgeidp_module,
    NULL
};

char *ngx_module_names[] = {
    "ngx_http_edgeidp_module",
    NULL
};

char *ngx_module_order[] = {
    NULL
};

#pragma GCC visibility pop
