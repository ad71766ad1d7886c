# Sourced by benches/realistic.sh and benches/ir.sh: the telemetry modes of the realistic
# service (src/bin/realistic.rs) as OTEL_* variables, and the local collector.
#
#   off      OTEL_SDK_DISABLED=true (the baseline)
#   full     100 % sampling; traces and metrics exported over OTLP/gRPC to the collector
#   ratio10  parentbased_traceidratio 0.1; exported over OTLP/gRPC
#   none     spans built, exported nowhere (OTEL_TRACES_EXPORTER=none), metrics off
#   metrics  metrics only (sampler always_off), exported over OTLP/gRPC

# mode_env MODE: the variables of MODE, one NAME=value a word.
mode_env() {
    local common="OTEL_SERVICE_NAME=realistic OTEL_LOGS_EXPORTER=none"
    local otlp="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${OTLP_PORT:-4317} OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
    case "$1" in
    off) echo "OTEL_SDK_DISABLED=true" ;;
    full) echo "$common $otlp OTEL_TRACES_SAMPLER=parentbased_always_on" ;;
    ratio10) echo "$common $otlp OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1" ;;
    none) echo "$common OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none OTEL_TRACES_SAMPLER=parentbased_always_on" ;;
    metrics) echo "$common $otlp OTEL_TRACES_SAMPLER=always_off OTEL_TRACES_EXPORTER=none" ;;
    *) echo "unknown mode $1 (off full ratio10 none metrics)" >&2; return 1 ;;
    esac
}

# start_collector DIR [CPU]: rotel-agent on 127.0.0.1:$OTLP_PORT (gRPC) discarding what it
# receives, without debug output; sets COLLECTOR_PID.
start_collector() {
    local dir=$1 cpu=${2:-}
    local agent=${ROTEL_AGENT:-$(python3 -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')}
    [[ -x "$agent" ]] || { echo "no rotel-agent ($agent): pip install rotel==0.0.1a15" >&2; return 1; }
    local pin=()
    [[ -n "$cpu" ]] && pin=(taskset -c "$cpu")
    "${pin[@]}" "$agent" start --otlp-grpc-endpoint "127.0.0.1:${OTLP_PORT:-4317}" \
        --otlp-http-endpoint "127.0.0.1:${OTLP_HTTP_PORT:-4318}" --exporter blackhole \
        --log-file "$dir/rotel.log" --pid-file "$dir/rotel.pid" >"$dir/rotel.out" 2>&1 &
    COLLECTOR_PID=$!
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/${OTLP_PORT:-4317}") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "rotel-agent did not listen on ${OTLP_PORT:-4317}: $(cat "$dir/rotel.out")" >&2
    return 1
}
