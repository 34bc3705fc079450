#!/usr/bin/env bash
# The mesh hop, side by side in one run, on release builds: the direct path
# (load generator → weft-echo), a weft-sidecar pair, an nghttpx pair and an
# HAProxy pair, all carrying mutual TLS HTTP/2 between the two proxies with the
# same certificates, each proxy on one thread.
#
#   client --HTTP/1.1--> proxy A --mTLS h2--> proxy B --HTTP/1.1--> weft-echo
#
# For each path: an open-loop run at RATE req/s with 1 KiB bodies (latency from
# each request's scheduled send: p50/p90/p99), the CPU seconds each proxy used
# per 1,000 requests, its peak RSS; then the most req/s h2load gets through it.
# Needs: nghttp2-proxy (nghttpx), haproxy, nghttp2-client (h2load), golang-go,
# openssl. Usage: Benchmarks/mesh.sh [RATE] [SECONDS]
# With PERF=DIR, both weft sidecars are profiled (perf record -g) during their
# saturation run: perf report -i DIR/weft-a.data. PERF_PAIR=weft+policy or
# weft-baseline profiles that pair instead.
#
# A second weft pair runs with a realistic policy set (docs/traffic-policy.md):
# peak-EWMA, a route with its own timeout and retries within the budget,
# breakers, outlier detection, and 100 intentions on the backend (the caller's
# allow last, each with method and path conditions). With BASELINE=PATH (a
# weft-sidecar built from an earlier commit), a third pair runs that binary with
# the plain snapshots: the same run then compares before and after. With
# TRACING=1, a pair exporting a span per request and hop (--otlp-endpoint, every
# trace sampled) to a collector that takes and discards OTLP posts. With
# POLICY_ROUNDS=N, N alternating runs of the plain and the policy pair give the
# policy set's added p50 as a median (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}
seconds=${2:-20}
. Benchmarks/proxy-lib.sh
build weft-sidecar
build weft-echo

# Certificates: one CA; SPIFFE leaves (serverAuth+clientAuth) for A and B; B's also
# names backend.local for the proxies that check host names.
cd "$work"
mesh_ca
leaf a "URI:spiffe://weft.local/ns/default/sa/frontend"
leaf b "URI:spiffe://weft.local/ns/default/sa/backend,DNS:backend.local"
cd - >/dev/null

app=18080
"$bin/weft-echo" --listen 127.0.0.1:$app --threads 1 >"$work/echo.log" 2>&1 & pids+=($!)

# weft: B (backend) in front of the app, A (frontend) with a local port for backend.
cat > "$work/b.json" <<JSON
{"version": 1, "generated_at": "2026-11-27T00:00:00Z",
 "inbound_intentions": [{"source": "spiffe://weft.local/ns/default/sa/frontend", "destination": "backend", "action": "allow"}]}
JSON
cat > "$work/a.json" <<JSON
{"version": 1, "generated_at": "2026-11-27T00:00:00Z",
 "upstreams": [{"service": {"service": "backend"}, "endpoints": [{"instance": "b-1", "address": "127.0.0.1", "port": 18443}]}]}
JSON
# weft with the policy set: D (frontend) → C (backend).
{
    echo '{"version": 1, "generated_at": "2026-11-27T00:00:00Z", "inbound_intentions": ['
    for i in $(seq 1 99); do
        echo "{\"source\": \"spiffe://weft.local/ns/default/sa/caller-$i\", \"destination\": \"backend\", \"action\": \"allow\", \"methods\": [\"GET\", \"POST\"], \"path\": {\"prefix\": \"/\"}},"
    done
    echo '{"source": "spiffe://weft.local/ns/default/sa/frontend", "destination": "backend", "action": "allow", "methods": ["GET", "POST"], "path": {"prefix": "/"}}]}'
} > "$work/c.json"
cat > "$work/d.json" <<JSON
{"version": 1, "generated_at": "2026-11-27T00:00:00Z",
 "upstreams": [{"service": {"service": "backend"},
   "endpoints": [{"instance": "c-1", "address": "127.0.0.1", "port": 18445}],
   "policy": {"service": "backend", "load_balancer": {"type": "peak_ewma"},
              "retry_budget": {"percent": 20, "min_retries_per_second": 10, "window": "10s"},
              "circuit_breaker": {"max_connections": 64, "max_pending_requests": 512, "max_requests": 512, "max_retries": 64},
              "outlier_detection": {"consecutive_errors": 5, "base_ejection_time": "30s"},
              "timeouts": {"request": "5s"}},
   "routes": {"routes": [{"name": "all", "match": {"path": {"prefix": "/"}}, "destinations": [{"service": "backend"}],
              "timeout": "2s", "retries": {"attempts": 2, "retry_on": ["connect-failure", "refused-stream", "gateway-error"]}}]}}]}
JSON
common=(--threads 1 --trust-bundle "$work/ca.pem" --outbound-proxy off --admin off --log-level warning)
"$bin/weft-sidecar" --service backend --inbound 127.0.0.1:18443 --app 127.0.0.1:$app --certificate "$work/b.pem" \
    --key "$work/b.key" --snapshot-file "$work/b.json" "${common[@]}" >"$work/wb.log" 2>&1 & pids+=($!); weft_b=$!
"$bin/weft-sidecar" --service frontend --inbound 127.0.0.1:18444 --app 127.0.0.1:1 --upstream backend=127.0.0.1:18001 \
    --certificate "$work/a.pem" --key "$work/a.key" --snapshot-file "$work/a.json" "${common[@]}" >"$work/wa.log" 2>&1 & pids+=($!); weft_a=$!

"$bin/weft-sidecar" --service backend --inbound 127.0.0.1:18445 --app 127.0.0.1:$app --certificate "$work/b.pem" \
    --key "$work/b.key" --snapshot-file "$work/c.json" "${common[@]}" >"$work/wc.log" 2>&1 & pids+=($!); weft_c=$!
"$bin/weft-sidecar" --service frontend --inbound 127.0.0.1:18446 --app 127.0.0.1:1 --upstream backend=127.0.0.1:18004 \
    --certificate "$work/a.pem" --key "$work/a.key" --snapshot-file "$work/d.json" "${common[@]}" >"$work/wd.log" 2>&1 & pids+=($!); weft_d=$!
if [ -n "${BASELINE:-}" ]; then
    # The same pair and snapshots as the first, with an earlier build.
    "$BASELINE" --service backend --inbound 127.0.0.1:18447 --app 127.0.0.1:$app --certificate "$work/b.pem" \
        --key "$work/b.key" --snapshot-file "$work/b.json" "${common[@]}" >"$work/we.log" 2>&1 & pids+=($!); weft_e=$!
    sed 's/18443/18447/' "$work/a.json" > "$work/f.json"
    "$BASELINE" --service frontend --inbound 127.0.0.1:18448 --app 127.0.0.1:1 --upstream backend=127.0.0.1:18005 \
        --certificate "$work/a.pem" --key "$work/a.key" --snapshot-file "$work/f.json" "${common[@]}" >"$work/wf.log" 2>&1 & pids+=($!); weft_f=$!
fi
if [ -n "${TRACING:-}" ]; then
    # A collector that reads each OTLP post and answers 200.
    python3 -c '
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
ThreadingHTTPServer(("127.0.0.1", 18318), H).serve_forever()
' >"$work/collector.log" 2>&1 & pids+=($!); collector=$!
    tracing=(--otlp-endpoint http://127.0.0.1:18318)
    sed 's/18443/18449/' "$work/a.json" > "$work/g.json"
    "$bin/weft-sidecar" --service backend --inbound 127.0.0.1:18449 --app 127.0.0.1:$app --certificate "$work/b.pem" \
        --key "$work/b.key" --snapshot-file "$work/b.json" "${common[@]}" "${tracing[@]}" --admin 127.0.0.1:18451 >"$work/wg.log" 2>&1 & pids+=($!); weft_g=$!
    "$bin/weft-sidecar" --service frontend --inbound 127.0.0.1:18450 --app 127.0.0.1:1 --upstream backend=127.0.0.1:18006 \
        --certificate "$work/a.pem" --key "$work/a.key" --snapshot-file "$work/g.json" "${common[@]}" "${tracing[@]}" \
        --admin 127.0.0.1:18452 >"$work/wh.log" 2>&1 & pids+=($!); weft_h=$!
fi

# nghttpx: B terminates TLS and requires client certificates; A dials B over TLS h2
# with its certificate and verifies B's.
nghttpx --conf=/dev/null --workers=1 --frontend="127.0.0.1,18543" --backend="127.0.0.1,$app" --verify-client \
    --verify-client-cacert="$work/ca.pem" --no-ocsp --errorlog-file="$work/nb.log" "$work/b.key" "$work/b.pem" & pids+=($!); nghttpx_b=$!
nghttpx --conf=/dev/null --workers=1 --frontend="127.0.0.1,18002;no-tls" --backend="127.0.0.1,18543;;proto=h2;tls;sni=backend.local" \
    --cacert="$work/ca.pem" --client-private-key-file="$work/a.key" --client-cert-file="$work/a.pem" \
    --no-ocsp --errorlog-file="$work/na.log" & pids+=($!); nghttpx_a=$!

# HAProxy: the same shape.
cat > "$work/hb.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend mesh
    bind 127.0.0.1:18643 ssl crt $work/b.combined ca-file $work/ca.pem verify required alpn h2
    default_backend app
backend app
    server echo 127.0.0.1:$app
CFG
cat > "$work/ha.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend local
    bind 127.0.0.1:18003
    default_backend mesh
backend mesh
    server b 127.0.0.1:18643 ssl crt $work/a.combined ca-file $work/ca.pem verify required sni str(backend.local) alpn h2
CFG
haproxy -db -f "$work/hb.cfg" >"$work/hb.log" 2>&1 & pids+=($!); haproxy_b=$!
haproxy -db -f "$work/ha.cfg" >"$work/ha.log" 2>&1 & pids+=($!); haproxy_a=$!
sleep 2

(cd Benchmarks/openloop && go build -o "$work/openloop" .)

run() {  # name url [pidA pidB]
    local name=$1 url=$2 a=${3:-} b=${4:-}
    local a0=0 b0=0
    [ -n "$a" ] && a0=$(cpu "$a") && b0=$(cpu "$b")
    local result
    result=$("$work/openloop" -url "$url" -rate "$rate" -duration "${seconds}s" -body 1024)
    local line="$name at $rate req/s: $result"
    if [ -n "$a" ]; then
        local total=$(( (seconds + 3) * rate ))
        local ca cb
        ca=$(awk -v d=$(( $(cpu "$a") - a0 )) -v t="$ticks" -v n="$total" 'BEGIN {printf "%.3f", d / t / n * 1000}')
        cb=$(awk -v d=$(( $(cpu "$b") - b0 )) -v t="$ticks" -v n="$total" 'BEGIN {printf "%.3f", d / t / n * 1000}')
        line="$line cpu_s_per_1000: A=$ca B=$cb peak_rss_kB: A=$(hwm "$a") B=$(hwm "$b")"
    fi
    echo "$line"
}
saturate() {  # name url
    local result
    result=$(h2load -n 200000 -c 16 -m 16 -t 1 "$2" 2>&1 | awk '/finished in/ {printf "%s %s ", $4, $5} /^requests:/ {print}' || true)
    echo "$1 saturated (h2load -n 200000 -c 16 -m 16, h2c GET): $result"
}

echo "mesh.sh: $(nproc) cores, $(uname -r), rate $rate req/s for ${seconds}s, 1 KiB bodies, $(date -u +%FT%TZ)"
run direct "http://127.0.0.1:$app/"
run weft "http://127.0.0.1:18001/" "$weft_a" "$weft_b"
run weft+policy "http://127.0.0.1:18004/" "$weft_d" "$weft_c"
[ -n "${BASELINE:-}" ] && run weft-baseline "http://127.0.0.1:18005/" "$weft_f" "$weft_e"
[ -n "${TRACING:-}" ] && run weft+tracing "http://127.0.0.1:18006/" "$weft_h" "$weft_g"
run nghttpx "http://127.0.0.1:18002/" "$nghttpx_a" "$nghttpx_b"
run haproxy "http://127.0.0.1:18003/" "$haproxy_a" "$haproxy_b"
# POLICY_ROUNDS=N: the policy set's added latency, judged against this
# machine's noise (one run's p50 moves by ±40 µs from the next): N rounds, each
# an open-loop run of the plain pair then one of the policy pair, in turn; the
# median of the N differences of p50 is the figure to hold against the goal.
if [ -n "${POLICY_ROUNDS:-}" ]; then
    diffs=()
    for round in $(seq 1 "$POLICY_ROUNDS"); do
        plain=$(run weft "http://127.0.0.1:18001/" "$weft_a" "$weft_b")
        policy=$(run weft+policy "http://127.0.0.1:18004/" "$weft_d" "$weft_c")
        p_plain=$(echo "$plain" | sed -n 's/.*p50_us=\([0-9]*\).*/\1/p')
        p_policy=$(echo "$policy" | sed -n 's/.*p50_us=\([0-9]*\).*/\1/p')
        diffs+=($(( p_policy - p_plain )))
        echo "round $round: $plain"
        echo "round $round: $policy"
        echo "round $round: policy adds $(( p_policy - p_plain )) µs at p50"
    done
    median=$(printf '%s\n' "${diffs[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    echo "policy set, median added p50 over $POLICY_ROUNDS rounds: $median µs (each: ${diffs[*]})"
fi
saturate direct "http://127.0.0.1:$app/"
profile_start() {  # frontend backend
    [ -n "${PERF:-}" ] || return 0
    # PERF=DIR: profile both sidecars of a pair while h2load saturates them.
    mkdir -p "$PERF"
    # PERF_EVENT=probe_libc:malloc (after perf probe -x .../libc.so.6 malloc)
    # records allocation sites instead of CPU samples.
    event=(-F 999)
    [ -n "${PERF_EVENT:-}" ] && event=(-e "$PERF_EVENT")
    perf record "${event[@]}" -g -o "$PERF/weft-a.data" -p "$1" 2>/dev/null & perf_a=$!
    perf record "${event[@]}" -g -o "$PERF/weft-b.data" -p "$2" 2>/dev/null & perf_b=$!
    sleep 1
}
profile_stop() { [ -n "${PERF:-}" ] || return 0; kill -INT $perf_a $perf_b; wait $perf_a $perf_b 2>/dev/null || true; }
pair=${PERF_PAIR:-weft}
[ "$pair" = weft ] && profile_start "$weft_a" "$weft_b"
saturate weft "http://127.0.0.1:18001/"
[ "$pair" = weft ] && profile_stop
[ "$pair" = weft+policy ] && profile_start "$weft_d" "$weft_c"
saturate weft+policy "http://127.0.0.1:18004/"
[ "$pair" = weft+policy ] && profile_stop
if [ -n "${BASELINE:-}" ]; then
    [ "$pair" = weft-baseline ] && profile_start "$weft_f" "$weft_e"
    saturate weft-baseline "http://127.0.0.1:18005/"
    [ "$pair" = weft-baseline ] && profile_stop
fi
if [ -n "${TRACING:-}" ]; then
    [ "$pair" = weft+tracing ] && profile_start "$weft_h" "$weft_g"
    saturate weft+tracing "http://127.0.0.1:18006/"
    [ "$pair" = weft+tracing ] && profile_stop
fi
saturate nghttpx "http://127.0.0.1:18002/"
saturate haproxy "http://127.0.0.1:18003/"
if [ -n "${TRACING:-}" ]; then
    spans() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^weft_sidecar_spans_(exported|dropped)_total/ {printf "%s=%s ", $1, $2}'; }
    echo "weft+tracing: peak RSS A=$(hwm $weft_h) B=$(hwm $weft_g) kB; A: $(spans 18452) B: $(spans 18451)"
fi
echo "peak RSS after saturation (kB): weft A=$(hwm $weft_a) B=$(hwm $weft_b) weft+policy A=$(hwm $weft_d) B=$(hwm $weft_c) nghttpx A=$(hwm $nghttpx_a) B=$(hwm $nghttpx_b) haproxy A=$(hwm $haproxy_a) B=$(hwm $haproxy_b)"
