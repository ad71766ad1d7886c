#!/usr/bin/env bash
# Requests/s of the realistic service (src/bin/realistic.rs: `GET /users/{id}` with an
# `#[instrument_struct]` SQLite lookup and a downstream call through `HttpClientLayer`
# to a handler that sleeps 3 ms; 5 spans and 7 metric recordings per request) with
# telemetry on, relative to the same binary with OTEL_SDK_DISABLED=true.
#
#   benches/realistic.sh                          # 3 rounds of: off full off ratio10 off
#   MODES="full ratio10 none metrics" ROUNDS=5 benches/realistic.sh
#
# Modes are OTEL_* settings (benches/realistic-lib.sh): `full` = 100 % sampling with
# traces and metrics exported over OTLP/gRPC to a local collector (rotel, discarding
# what it receives), `ratio10` = parentbased_traceidratio 0.1, `none` = spans built but
# exported nowhere, `metrics` = metrics only.
#
# The server runs pinned to one core (SERVER_CPU, default 0) with one Tokio worker; wrk
# (`-t1 -c16`, no incoming trace context: the service is the edge) and the collector
# share the other (LOAD_CPU, default 1). Runs alternate with `off` runs, and each run is
# compared with the mean of the `off` runs just before and after it, so slow drifts of
# the host cancel out. Other processes on these cores make the figures noisy: the script
# says so when rustc runs. Needs wrk, taskset and rotel (`pip install rotel==0.0.1a15`).
# REALISTIC=path skips the build.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
MODES=${MODES:-"full ratio10"}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=realistic-lib.sh
. "$here/realistic-lib.sh"
for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "realistic.sh: $tool not found (apt-get install wrk util-linux)" >&2; exit 1; }
done
if [[ -z "${REALISTIC:-}" ]]; then
    (cd "$root" && cargo build --quiet --profile bench -p otel-benches --bin realistic)
    REALISTIC="${CARGO_TARGET_DIR:-$root/target}/release/realistic"
fi
[[ -x "$REALISTIC" ]] || { echo "realistic.sh: no binary at $REALISTIC" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wrk-bench.XXXXXX")
COLLECTOR_PID=""
trap '[[ -n "$COLLECTOR_PID" ]] && kill "$COLLECTOR_PID" 2>/dev/null; rm -rf "$work"' EXIT
start_collector "$work" "$LOAD_CPU"
ticks=$(getconf CLK_TCK)

busy=$(pgrep -c -x rustc || true)
[[ "$busy" -gt 0 ]] && echo "warning: $busy rustc process(es) running: expect noisy figures" >&2

# run INDEX MODE: one server + one wrk run; appends a result line to $work/results.
run() {
    local index=$1 mode=$2 log=$work/server.$1 out=$work/wrk.$1
    # Created here: the server's redirection may open it after the first `sed` below.
    : >"$log"
    # shellcheck disable=SC2046
    env $(mode_env "$mode") taskset -c "$SERVER_CPU" "$REALISTIC" serve 0 $((DURATION + 3)) 2>"$log" &
    local pid=$! port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n "$port" ]] && break
        sleep 0.05
    done
    [[ -n "$port" ]] || { echo "realistic.sh: server ($mode) did not start: $(cat "$log")" >&2; kill "$pid"; exit 1; }
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$port/users/42" >"$out"
    local cpu
    cpu=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    wait "$pid"
    local rps p50 p99 served exported errors
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    errors=$(awk '/Non-2xx|Socket errors/ { printf "%s ", $0 }' "$out")
    served=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$log")
    exported=$(sed -n 's/.*spans_exported=\([0-9]*\).*/\1/p' "$log")
    local cpu_us
    cpu_us=$(awk -v c="$cpu" -v t="$ticks" -v n="$served" 'BEGIN { printf "%.1f", n ? c / t * 1e6 / n : 0 }')
    echo "$index $mode $rps $cpu_us $served $exported" >>"$work/results"
    printf '%3d %-8s %9.0f req/s  p50 %8s  p99 %8s  cpu %6s us/req  served %8d  spans %s %s\n' \
        "$index" "$mode" "$rps" "$p50" "$p99" "$cpu_us" "$served" "$exported" "$errors"
}

echo "realistic: $REALISTIC; $ROUNDS rounds of: $MODES; wrk -t1 -c$CONNECTIONS -d${DURATION}s; server on cpu $SERVER_CPU, wrk and collector on cpu $LOAD_CPU"
index=0
run $index off
for _ in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        index=$((index + 1)); run $index "$mode"
        index=$((index + 1)); run $index off
    done
done

busy=$(pgrep -c -x rustc || true)
[[ "$busy" -gt 0 ]] && echo "warning: $busy rustc process(es) running at the end: expect noisy figures" >&2

awk -v modes="off $MODES" '
    { kase[NR] = $2; rps[NR] = $3; cpu[NR] = $4 }
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        k = split(modes, names, " ")
        print ""
        print "ratio = req/s / mean(off req/s of the runs just before and after)"
        for (c = 2; c <= k; c++) {
            n = 0; min = 1e9; max = 0
            for (i = 2; i < NR; i++) if (kase[i] == names[c]) {
                r = rps[i] / ((rps[i - 1] + rps[i + 1]) / 2); ratio[++n] = r
                if (r < min) min = r
                if (r > max) max = r
            }
            printf "%-8s / off: median %.3f (min %.3f, max %.3f) over %d runs\n", names[c], median(ratio, n), min, max, n
        }
        for (c = 1; c <= k; c++) {
            m = 0
            for (i = 1; i <= NR; i++) if (kase[i] == names[c]) { m++; a[m] = rps[i]; e[m] = cpu[i] }
            printf "%-8s medians over %d runs: %.0f req/s, server cpu %.1f us/req\n", names[c], m, median(a, m), median(e, m)
        }
    }' "$work/results"
