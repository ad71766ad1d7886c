#!/usr/bin/env bash
# Loopback throughput of axum's hello-world route, bare and under
# otel_tower::HttpServerLayer (src/bin/http_server.rs), measured with wrk.
#
#   benches/wrk.sh                 # 3 rounds: bare otel bare otel bare otel bare
#   ROUNDS=6 DURATION=10 benches/wrk.sh
#   CASES="otel traces metrics" benches/wrk.sh   # bare between every two cases
#
# The server runs pinned to one core (SERVER_CPU, default 0; its batch export thread
# shares it), wrk to another (LOAD_CPU, default 1): `wrk -t1 -c32 -d10s --latency` with
# a sampled W3C `traceparent` on every request, to http://127.0.0.1:PORT/users/42.
# Runs are interleaved, and each instrumented run is compared with the mean of the bare
# runs just before and after it, so slow drifts of the host cancel out. Other processes on
# these cores (a cargo build) make the figures noisy: the script says so when rustc runs.
#
# Needs wrk (Debian: apt-get install wrk) and taskset. HTTP_SERVER=path skips the build.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
CASES=${CASES:-otel}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TRACEPARENT="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "wrk.sh: $tool not found (apt-get install wrk util-linux)" >&2; exit 1; }
done
if [[ -z "${HTTP_SERVER:-}" ]]; then
    # The bench profile: thin LTO, one codegen unit, as the criterion benches.
    (cd "$root" && cargo build --quiet --profile bench -p otel-benches --bin http_server)
    HTTP_SERVER="${CARGO_TARGET_DIR:-$root/target}/release/http_server"
fi
[[ -x "$HTTP_SERVER" ]] || { echo "wrk.sh: no server binary at $HTTP_SERVER" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wrk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

busy=$(pgrep -c -x rustc || true)
if [[ "$busy" -gt 0 ]]; then
    echo "warning: $busy rustc process(es) running: expect noisy figures" >&2
fi

# wrk latency ("233.00us", "1.02ms", "1.10s") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
    }'
}

# run INDEX CASE: one server + one wrk run; appends a result line to $work/results.
run() {
    local index=$1 case=$2 log=$work/server.$1 out=$work/wrk.$1
    taskset -c "$SERVER_CPU" "$HTTP_SERVER" "$case" 0 $((DURATION + 3)) 2>"$log" &
    local pid=$! port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n "$port" ]] && break
        sleep 0.05
    done
    [[ -n "$port" ]] || { echo "wrk.sh: server $case did not start: $(cat "$log")" >&2; kill "$pid"; exit 1; }
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -H "traceparent: $TRACEPARENT" "http://127.0.0.1:$port/users/42" >"$out"
    # Server CPU (all threads, including the export thread) right after the load ends.
    local cpu
    cpu=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    wait "$pid"
    local rps requests p50 p99 check served exported
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    requests=$(awk '/requests in/ { print $1 }' "$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
    check=$(grep '^\[check\]' "$log")
    served=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$check")
    exported=$(sed -n 's/.*spans_exported=\([0-9-]*\).*/\1/p' <<<"$check")
    local cpu_us
    cpu_us=$(awk -v c="$cpu" -v t="$ticks" -v n="$served" 'BEGIN { printf "%.2f", c / t * 1e6 / n }')
    echo "$index $case $rps $p50 $p99 $cpu_us $requests $served $exported" >>"$work/results"
    printf '%3d %-7s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  cpu %6s us/req  wrk %9d  served %9d  spans %s\n' \
        "$index" "$case" "$rps" "$p50" "$p99" "$cpu_us" "$requests" "$served" "$exported"
}

echo "http_server: $HTTP_SERVER; $ROUNDS rounds of: $CASES; wrk -t1 -c$CONNECTIONS -d${DURATION}s; server on cpu $SERVER_CPU, wrk on cpu $LOAD_CPU"
index=0
run $index bare
for _ in $(seq 1 "$ROUNDS"); do
    for case in $CASES; do
        index=$((index + 1)); run $index "$case"
        index=$((index + 1)); run $index bare
    done
done

busy=$(pgrep -c -x rustc || true)
[[ "$busy" -gt 0 ]] && echo "warning: $busy rustc process(es) running at the end: expect noisy figures" >&2

# Each instrumented run against the mean of its neighbouring bare runs; medians per case.
awk -v cases="bare $CASES" '
    { idx[NR] = $1; kase[NR] = $2; rps[NR] = $3; p50[NR] = $4; p99[NR] = $5; cpu[NR] = $6
      wrk[NR] = $7; served[NR] = $8; spans[NR] = $9 }
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        k = split(cases, names, " ")
        print ""
        print "ratio = req/s / mean(bare req/s of the runs just before and after)"
        for (c = 2; c <= k; c++) {
            n = 0; min = 1e9; max = 0
            for (i = 2; i < NR; i++) if (kase[i] == names[c]) {
                r = rps[i] / ((rps[i - 1] + rps[i + 1]) / 2); ratio[++n] = r
                if (r < min) min = r
                if (r > max) max = r
                printf "  run %d %s: %.3f   spans exported %s / requests served %s / wrk requests %s\n",
                    idx[i], names[c], r, spans[i], served[i], wrk[i]
            }
            printf "%s / bare: median %.3f (min %.3f, max %.3f) over %d runs\n", names[c], median(ratio, n), min, max, n
        }
        for (c = 1; c <= k; c++) {
            m = 0
            for (i = 1; i <= NR; i++) if (kase[i] == names[c]) { m++; a[m] = rps[i]; b[m] = p50[i]; d[m] = p99[i]; e[m] = cpu[i] }
            printf "%-7s medians over %d runs: %.0f req/s, p50 %.0f us, p99 %.0f us, server cpu %.2f us/req\n",
                names[c], m, median(a, m), median(b, m), median(d, m), median(e, m)
        }
    }' "$work/results"
