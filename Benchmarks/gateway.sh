#!/usr/bin/env bash
# The edge, side by side in one run, on release builds: weft-gateway, HAProxy
# and nghttpx each terminating TLS for external clients, routing by a header
# rule, and forwarding over mutual-TLS HTTP/2 to the same weft-sidecar in front
# of weft-echo. Each edge proxy runs on one thread.
#
#   client --TLS--> edge (weft-gateway | haproxy | nghttpx) --mTLS h2--> weft-sidecar --h2c--> weft-echo
#
# The rule: eleven rules on x-terminal-type (ten decoys, then `kiosk`, the one
# the load sends), as a POS fleet's edge would hold. HAProxy matches it with
# req.hdr ACLs; nghttpx cannot route by header at all (host and path only), so
# it gets eleven path patterns, the closest it has: its row routes by path.
#
# For each edge: an open-loop run at RATE req/s, HTTP/1.1 over TLS with 1 KiB
# bodies (latency from each request's scheduled send), the edge's CPU seconds
# per 1,000 requests and peak RSS; then the most req/s h2load gets through it
# (HTTP/2 over TLS). The direct row is the sidecar-less path to weft-echo.
# Needs: haproxy, nghttp2-proxy (nghttpx), nghttp2-client (h2load), golang-go,
# openssl. Usage: Benchmarks/gateway.sh [RATE] [SECONDS]
# With PERF=DIR, weft-gateway is profiled (perf record -g) during its
# saturation run: perf report -i DIR/weft-gateway.data.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}
seconds=${2:-20}
. Benchmarks/proxy-lib.sh
build weft-gateway
build weft-sidecar
build weft-echo

# Certificates: the mesh CA with the edge's and the backend's SPIFFE leaves; a
# self-signed public certificate for api.pos.test, which the client trusts.
cd "$work"
mesh_ca
leaf edge "URI:spiffe://weft.local/ns/default/sa/edge"
leaf backend "URI:spiffe://weft.local/ns/default/sa/backend,DNS:backend.local"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api.key -out api.pem -days 2 \
    -subj /CN=api.pos.test -addext subjectAltName=DNS:api.pos.test 2>/dev/null
cat api.pem api.key > api.combined
cd - >/dev/null

app=19080
"$bin/weft-echo" --listen 127.0.0.1:$app --threads 1 >"$work/echo.log" 2>&1 & pids+=($!)
cat > "$work/backend.json" <<JSON
{"version": 1, "generated_at": "2026-11-28T00:00:00Z",
 "inbound_intentions": [{"source": "spiffe://weft.local/ns/default/sa/edge", "destination": "backend", "action": "allow"}]}
JSON
"$bin/weft-sidecar" --service backend --inbound 127.0.0.1:19443 --app 127.0.0.1:$app --app-protocol http2 \
    --certificate "$work/backend.pem" --key "$work/backend.key" --trust-bundle "$work/ca.pem" \
    --snapshot-file "$work/backend.json" --outbound-proxy off --admin off --threads 1 --log-level warning \
    >"$work/sidecar.log" 2>&1 & pids+=($!)

# weft-gateway: ten decoy rules, then the kiosk rule.
{
    echo '{"version": 1, "generated_at": "2026-11-28T00:00:00Z",'
    echo ' "defaults": {"default_action": "deny", "trust_domain": "weft.local"},'
    echo ' "upstreams": [{"service": {"service": "backend"}, "endpoints": [{"instance": "b-1", "address": "127.0.0.1", "port": 19443}]}],'
    echo ' "gateway_routes": {"routes": ['
    for i in $(seq 0 9); do
        echo "{\"name\": \"decoy-$i\", \"match\": {\"headers\": [{\"name\": \"x-terminal-type\", \"exact\": \"type$i\"}]}, \"destinations\": [{\"service\": \"backend\"}]},"
    done
    echo '{"name": "kiosk", "match": {"headers": [{"name": "x-terminal-type", "exact": "kiosk"}]}, "destinations": [{"service": "backend"}]}]}}'
} > "$work/gateway.json"
"$bin/weft-gateway" --name edge --listen 127.0.0.1:19700 --tls-listen 127.0.0.1:19701 \
    --tls-certificate "$work/api.pem" --tls-key "$work/api.key" --certificate "$work/edge.pem" --key "$work/edge.key" \
    --trust-bundle "$work/ca.pem" --snapshot-file "$work/gateway.json" --admin off --threads 1 --log-level warning \
    >"$work/gateway.log" 2>&1 & pids+=($!); weft=$!

# HAProxy: the same rules as ACLs on the header.
{
    cat <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend edge
    bind 127.0.0.1:19703 ssl crt $work/api.combined alpn h2,http/1.1
CFG
    for i in $(seq 0 9); do echo "    use_backend decoy$i if { req.hdr(x-terminal-type) -m str type$i }"; done
    echo "    use_backend mesh if { req.hdr(x-terminal-type) -m str kiosk }"
    for i in $(seq 0 9); do
        printf 'backend decoy%s\n    server b 127.0.0.1:19443 ssl crt %s ca-file %s verify required sni str(backend.local) alpn h2\n' \
            "$i" "$work/edge.combined" "$work/ca.pem"
    done
    printf 'backend mesh\n    server b 127.0.0.1:19443 ssl crt %s ca-file %s verify required sni str(backend.local) alpn h2\n' \
        "$work/edge.combined" "$work/ca.pem"
} > "$work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 & pids+=($!); haproxy=$!

# nghttpx: path patterns (it has no header routing), the last one the load's.
backends=()
for i in $(seq 0 9); do
    backends+=(--backend="127.0.0.1,19443;/type$i/;proto=h2;tls;sni=backend.local")
done
backends+=(--backend="127.0.0.1,19443;/;proto=h2;tls;sni=backend.local")
nghttpx --conf=/dev/null --workers=1 --frontend="127.0.0.1,19702" "${backends[@]}" \
    --cacert="$work/ca.pem" --client-private-key-file="$work/edge.key" --client-cert-file="$work/edge.pem" \
    --no-ocsp --errorlog-file="$work/nghttpx.log" "$work/api.key" "$work/api.pem" & pids+=($!); nghttpx=$!
sleep 2

(cd Benchmarks/openloop && go build -o "$work/openloop" .)
headers=(-header "x-terminal-type: kiosk" -header "x-firmware-version: 2.1.3" -header "x-terminal-id: POS-004211")

run() {  # name url [pid]
    local name=$1 url=$2 pid=${3:-} before=0 result
    [ -n "$pid" ] && before=$(cpu "$pid")
    if [[ $url == https* ]]; then
        result=$("$work/openloop" -url "$url" -rate "$rate" -duration "${seconds}s" -body 1024 \
            -cacert "$work/api.pem" -servername api.pos.test "${headers[@]}")
    else
        result=$("$work/openloop" -url "$url" -rate "$rate" -duration "${seconds}s" -body 1024 "${headers[@]}")
    fi
    local line="$name at $rate req/s: $result"
    if [ -n "$pid" ]; then
        local total=$(( (seconds + 3) * rate ))
        line="$line cpu_s_per_1000: $(awk -v d=$(( $(cpu "$pid") - before )) -v t="$ticks" -v n="$total" 'BEGIN {printf "%.3f", d / t / n * 1000}') peak_rss_kB: $(hwm "$pid")"
    fi
    echo "$line"
}
saturate() {  # name url
    local result
    result=$(h2load -n 100000 -c 16 -m 16 -t 1 -H "x-terminal-type: kiosk" -H "x-firmware-version: 2.1.3" "$2" 2>&1 \
        | awk '/finished in/ {printf "%s %s ", $4, $5} /^requests:/ {printf "%s ", $0} /^status codes:/ {print}' || true)
    echo "$1 saturated (h2load -n 100000 -c 16 -m 16, h2 over TLS): $result"
}

# One request over HTTP/2 through each edge first: what it answers.
for edge in "weft-gateway 19701" "haproxy 19703" "nghttpx 19702"; do
    set -- $edge
    echo "$1 answers h2: $(curl -s -o /dev/null -w '%{http_code} %{http_version}' --http2 --cacert "$work/api.pem" \
        --resolve api.pos.test:$2:127.0.0.1 -H 'x-terminal-type: kiosk' https://api.pos.test:$2/pay)"
done
echo "gateway.sh: $(nproc) cores, $(uname -r), rate $rate req/s for ${seconds}s, 1 KiB bodies, $(date -u +%FT%TZ)"
run direct "http://127.0.0.1:$app/pay"
run weft-gateway "https://127.0.0.1:19701/pay" "$weft"
run haproxy "https://127.0.0.1:19703/pay" "$haproxy"
run nghttpx "https://127.0.0.1:19702/pay" "$nghttpx"
if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    perf record -F 999 -g -o "$PERF/weft-gateway.data" -p "$weft" 2>/dev/null & perf_pid=$!
    sleep 1
fi
saturate weft-gateway "https://127.0.0.1:19701/pay"
if [ -n "${PERF:-}" ]; then kill -INT $perf_pid; wait $perf_pid 2>/dev/null || true; fi
saturate haproxy "https://127.0.0.1:19703/pay"
saturate nghttpx "https://127.0.0.1:19702/pay"
echo "peak RSS after saturation (kB): weft-gateway=$(hwm $weft) haproxy=$(hwm $haproxy) nghttpx=$(hwm $nghttpx)"
