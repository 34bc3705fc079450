#!/usr/bin/env bash
# Transport benchmark: h2load against weft-echo and against nghttpd (nghttp2's
# reference server), same flags, same run, cleartext (h2c) and TLS. Release build.
# Both servers answer GET / with a small body (weft-echo: its JSON report, ~300
# bytes; nghttpd: a static file of the same size). Appends the results, with the
# command and the machine, to Benchmarks/RESULTS.md.
#
# Usage: Benchmarks/transport.sh [--no-record] [requests] [clients] [streams-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."

record=1
if [ "${1:-}" = "--no-record" ]; then record=0; shift; fi
requests=${1:-200000}
clients=${2:-16}
streams=${3:-32}
threads=1   # h2load threads: the machine has 2 cores; one drives load, one serves

for tool in h2load nghttpd openssl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool (scripts/install-deps)" >&2; exit 2; }
done

swift build -c release --product weft-echo >/dev/null
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" \
    -out "$work/cert.pem" -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
mkdir -p "$work/htdocs"
head -c 300 /dev/zero | tr '\0' 'x' > "$work/htdocs/index.html"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

echo_h2c=$(free_port); echo_tls=$(free_port); nghttpd_h2c=$(free_port); nghttpd_tls=$(free_port)
.build/release/weft-echo --listen 127.0.0.1:"$echo_h2c" --threads 1 >/dev/null & pids+=($!)
.build/release/weft-echo --listen 127.0.0.1:"$echo_tls" --threads 1 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >/dev/null & pids+=($!)
nghttpd -a 127.0.0.1 -d "$work/htdocs" --no-tls -n 1 "$nghttpd_h2c" >/dev/null 2>&1 & pids+=($!)
nghttpd -a 127.0.0.1 -d "$work/htdocs" -n 1 "$nghttpd_tls" "$work/key.pem" "$work/cert.pem" >/dev/null 2>&1 & pids+=($!)
for port in "$echo_h2c" "$echo_tls" "$nghttpd_h2c" "$nghttpd_tls"; do wait_port "$port"; done

# One h2load run; prints "req/s p50 p99 failed" from its per-request log.
measure() {
    local url=$1 log="$work/requests.log"
    local out
    out=$(h2load -n "$requests" -c "$clients" -m "$streams" -t "$threads" --log-file="$log" "$url" 2>&1)
    local rps failed
    rps=$(echo "$out" | awk '/finished in/ {for (i=1;i<=NF;i++) if ($i=="req/s,") print $(i-1)}')
    failed=$(echo "$out" | awk '/^requests:/ {for (i=1;i<=NF;i++) if ($i=="failed,") print $(i-1)}')
    python3 - "$log" "$rps" "$failed" <<'PY'
import sys
latencies = sorted(int(line.split("\t")[2]) for line in open(sys.argv[1]) if line.strip())
def pct(p): return latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1000
print(f"{float(sys.argv[2]):.0f} {pct(0.50):.2f} {pct(0.99):.2f} {sys.argv[3]}")
PY
}

rows=()
for pair in "weft-echo h2c|http://127.0.0.1:$echo_h2c/" "nghttpd h2c|http://127.0.0.1:$nghttpd_h2c/" \
            "weft-echo TLS|https://127.0.0.1:$echo_tls/" "nghttpd TLS|https://127.0.0.1:$nghttpd_tls/"; do
    name=${pair%%|*}; url=${pair#*|}
    measure "$url" >/dev/null   # warm-up run, discarded
    read -r rps p50 p99 failed < <(measure "$url")
    rows+=("$name|$rps|$p50|$p99|$failed")
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
e_h2c=$(echo "${rows[0]}" | cut -d'|' -f2); n_h2c=$(echo "${rows[1]}" | cut -d'|' -f2)
e_tls=$(echo "${rows[2]}" | cut -d'|' -f2); n_tls=$(echo "${rows[3]}" | cut -d'|' -f2)
table="| server | req/s | p50 ms | p99 ms | failed |
| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
    IFS='|' read -r name rps p50 p99 failed <<< "$row"
    table+=$'\n'"| $name | $rps | $p50 | $p99 | $failed |"
done
table+=$'\n\n'"weft-echo / nghttpd throughput: h2c $(ratio "$e_h2c" "$n_h2c")×, TLS $(ratio "$e_tls" "$n_tls")×."
echo "$table"

if [ "$record" = 1 ]; then
    {
        echo
        echo "## Transport: weft-echo vs nghttpd, $(date -u +%Y-%m-%d)"
        echo
        echo "Command: \`Benchmarks/transport.sh $requests $clients $streams\` (h2load -n $requests -c $clients -m $streams -t $threads; one warm-up run discarded; both servers on one event-loop thread; release build)."
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(swift --version 2>&1 | head -1), nghttp2 $(nghttpd --version | awk '{print $2}')."
        echo
        echo "$table"
    } >> Benchmarks/RESULTS.md
fi
