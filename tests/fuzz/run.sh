#!/usr/bin/env bash
# Runs one libFuzzer target of a -Dfuzzing=true build (docs/security.md).
#
#   tests/fuzz/run.sh BUILD NAME [SECONDS]
#
# Fuzzes tests/fuzz/corpus/NAME (read only) into BUILD/fuzz-corpus/NAME,
# with the target's dictionary, for SECONDS (default 600), and writes
# crashers to BUILD/fuzz-artifacts/. The log is BUILD/fuzz-NAME.log; its
# last "#N DONE cov: ... ft: ... exec/s: ..." line is the result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 name=$2 seconds=${3:-600}
declare -A dict=([authn_request]=saml [sp_metadata]=saml [scim_response]=json
                 [config]=toml [template]=template [login_form]=form
                 [session_cookie]=cookie)
work=$build/fuzz-corpus/$name
mkdir -p "$work" "$build/fuzz-artifacts"
args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
      -artifact_prefix="$build/fuzz-artifacts/$name-")
if [ -n "${dict[$name]:-}" ]; then
    args+=(-dict="$here/dict/${dict[$name]}.dict")
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "$build/tests/fuzz/fuzz_$name" "${args[@]}" "$work" "$here/corpus/$name" \
    >"$build/fuzz-$name.log" 2>&1
