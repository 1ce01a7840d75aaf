#!/bin/bash
# Configures a private copy of Debian's nginx source tree (nginx-dev) with
# Debian's own flags (conf_flags: --with-compat, --with-threads, ...), so
# that a module compiled against it carries the same version and binary
# compatibility signature as /usr/sbin/nginx. Never writes into the source.
#
# usage: configure-nginx.sh NGINX_SRC WORKDIR OUT_AUTO_CONFIG_H OUT_AUTO_HEADERS_H
set -euo pipefail

src=$1
work=$(realpath -m "$2")
out_config=$(realpath -m "$3")
out_headers=$(realpath -m "$4")

if [ ! -f "$src/conf_flags" ] || [ ! -x "$src/configure" ]; then
    echo "configure-nginx.sh: $src is not a nginx source tree with conf_flags" >&2
    exit 1
fi

rm -rf "$work"
mkdir -p "$work"
cp -R "$src/configure" "$src/auto" "$src/src" "$src/conf_flags" "$work/"
cd "$work"

# shellcheck disable=SC1091
. ./conf_flags
if ! ./configure "${NGX_CONF_FLAGS[@]}" >configure.log 2>&1; then
    cat configure.log >&2
    exit 1
fi

cp objs/ngx_auto_config.h "$out_config"
cp objs/ngx_auto_headers.h "$out_headers"
