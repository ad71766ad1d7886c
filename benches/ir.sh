#!/usr/bin/env bash
# Instructions per request under callgrind, which stay stable on a shared machine where
# nanoseconds and requests/s swing.
#
#   benches/ir.sh http                  # every case of benches/benches/http.rs
#   CASES="bare otel_tower_HttpServerLayer" benches/ir.sh http
#   benches/ir.sh realistic             # src/bin/realistic.rs `loop`, per OTEL_* mode
#   MODES="off full" benches/ir.sh realistic
#
# Each case runs twice, with N1 and N2 requests (defaults 1000 and 3000; the realistic
# service 200 and 600), and Ir/request = (Ir(N2) - Ir(N1)) / (N2 - N1): set-up, first
# requests and exit cancel out. Every thread counts (the batch export thread too).
# KEEP=dir keeps the callgrind files of the N2 runs, for `callgrind_annotate --inclusive=yes`.
#
# Realistic modes (the OTEL_* variables of a user's service; the collector for `full` and
# `ratio10` is rotel on 127.0.0.1:4317, started by this script):
#   off      OTEL_SDK_DISABLED=true
#   full     100 % sampling, traces and metrics exported over OTLP/gRPC
#   ratio10  parentbased_traceidratio 0.1, exported over OTLP/gRPC
#   none     spans built, exported nowhere (OTEL_TRACES_EXPORTER=none), metrics off
#   metrics  metrics only (traces sampler always_off), exported over OTLP/gRPC
set -euo pipefail

what=${1:-http}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target="${CARGO_TARGET_DIR:-$root/target}/release"
command -v valgrind >/dev/null || { echo "ir.sh: valgrind not found" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/wrk-bench.XXXXXX")
RUN_ENV=""
keep=${KEEP:-}
[[ -n "$keep" ]] && mkdir -p "$keep"

# ir NAME N CMD...: total Ir of one run (stdout) with the variables in $RUN_ENV;
# the callgrind file is $work/NAME.N.
ir() {
    local name=$1 n=$2; shift 2
    # shellcheck disable=SC2086
    env $RUN_ENV valgrind --tool=callgrind --callgrind-out-file="$work/$name.$n" "$@" >/dev/null 2>"$work/$name.$n.log" ||
        { echo "ir.sh: $name failed: $(tail -5 "$work/$name.$n.log")" >&2; exit 1; }
    awk '/^summary:/ { print $2 }' "$work/$name.$n"
}

# report NAME N1 N2 IR1 IR2
report() {
    local name=$1 n1=$2 n2=$3 a=$4 b=$5
    local per=$(( (b - a) / (n2 - n1) ))
    printf '%-45s %10d Ir/request\n' "$name" "$per"
    echo "$name $per" >>"$work/results"
    [[ -n "$keep" ]] && cp "$work/$name.$n2" "$keep/callgrind.$name" || true
}

case "$what" in
http)
    N1=${N1:-1000}; N2=${N2:-3000}
    (cd "$root" && cargo bench --quiet -p otel-benches --bench http --no-run 2>/dev/null) || true
    bin=$(ls -t "$target"/deps/http-* 2>/dev/null | grep -v '\.d$' | head -1)
    [[ -x "$bin" ]] || { echo "ir.sh: no http bench binary under $target/deps" >&2; exit 1; }
    CASES=${CASES:-"bare otel_tower_HttpServerLayer otel_tower_HttpServerLayer_all_metrics hand_written_raw_otel opentelemetry_instrumentation_tower axum_tracing_opentelemetry tower_http_TraceLayer_tracing_opentelemetry"}
    for c in $CASES; do
        RUN_ENV="HTTP_BENCH_CASE=$c HTTP_BENCH_ITERS=$N1"; a=$(ir "$c" "$N1" "$bin")
        RUN_ENV="HTTP_BENCH_CASE=$c HTTP_BENCH_ITERS=$N2"; b=$(ir "$c" "$N2" "$bin")
        report "$c" "$N1" "$N2" "$a" "$b"
    done
    bare=$(awk '$1 == "bare" { print $2 }' "$work/results")
    if [[ -n "$bare" ]]; then
        echo
        echo "added over bare ($bare Ir/request):"
        awk -v bare="$bare" '$1 != "bare" { printf "  %-43s %+8d\n", $1, $2 - bare }' "$work/results"
    fi
    ;;
realistic)
    N1=${N1:-200}; N2=${N2:-600}
    (cd "$root" && cargo build --quiet --profile bench -p otel-benches --bin realistic)
    bin="$target/realistic"
    MODES=${MODES:-"off full ratio10 none metrics"}
    # shellcheck source=realistic-lib.sh
    . "$here/realistic-lib.sh"
    COLLECTOR_PID=""
    trap '[[ -n "$COLLECTOR_PID" ]] && kill "$COLLECTOR_PID" 2>/dev/null; rm -rf "$work"' EXIT
    start_collector "$work"
    for m in $MODES; do
        RUN_ENV=$(mode_env "$m")
        a=$(ir "$m" "$N1" "$bin" loop "$N1")
        b=$(ir "$m" "$N2" "$bin" loop "$N2")
        report "$m" "$N1" "$N2" "$a" "$b"
    done
    off=$(awk '$1 == "off" { print $2 }' "$work/results")
    if [[ -n "$off" ]]; then
        echo
        echo "added over OTEL_SDK_DISABLED=true ($off Ir/request):"
        awk -v off="$off" '$1 != "off" { printf "  %-43s %+8d\n", $1, $2 - off }' "$work/results"
    fi
    ;;
*)
    echo "usage: ir.sh http|realistic" >&2; exit 2 ;;
esac
rm -rf "$work"
