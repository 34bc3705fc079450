#!/usr/bin/env bash
# CA benchmark: a throwaway PostgreSQL (initdb, loopback, fsync and
# synchronous_commit on), one release weft-ca, and weft-ca-bench driving it
# over TLS 1.3 keep-alive connections: first certificates/s (join tokens) and
# renewals/s (mutual TLS), each request a real P-256 CSR checked and signed and
# recorded in the ledger. Appends the results, with the command and the
# machine, to Benchmarks/RESULTS.md.
#
# The per-client signing rate limit (default 200/s per address) is lifted for
# the run: every connection comes from 127.0.0.1, and the figure measured is
# the CA's capacity, not the limit.
#
# Usage: Benchmarks/ca.sh [--no-record] [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."

record=1
if [ "${1:-}" = "--no-record" ]; then record=0; shift; fi
connections=${1:-32}
seconds=${2:-10}

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL's server binaries (scripts/install-deps)" >&2; exit 2; }

config=${WEFT_BENCH_CONFIG:-release}
swift build -c "$config" --product weft-ca >/dev/null
swift build -c release --product weft-ca-bench >/dev/null

work=$(mktemp -d)
run_as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; run_as=(runuser -u postgres --); fi
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work/data" stop -m fast >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pg_port=$(free_port)
"${run_as[@]}" "$pg_bin/initdb" -D "$work/data" -U weft --auth=trust --no-instructions >/dev/null
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w \
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1" start >/dev/null

ca_port=$(free_port)
token=bench-admin-token-0123456789
mkdir -p "$work/ca"
WEFT_ADMIN_TOKEN=$token .build/$config/weft-ca --database-url "postgresql://weft@127.0.0.1:$pg_port/postgres" \
    --listen 127.0.0.1:"$ca_port" --data-dir "$work/ca/data" --sign-rate 1000000 \
    --log-level "${WEFT_BENCH_LOG_LEVEL:-warning}" & pids+=($!)
for _ in $(seq 200); do
    [ -f "$work/ca/data/trust-bundle.pem" ] && curl -sf --cacert "$work/ca/data/trust-bundle.pem" \
        "https://127.0.0.1:$ca_port/readyz" >/dev/null && break
    sleep 0.05
done

[ -n "${WEFT_BENCH_PERF:-}" ] && { perf record -F 999 -g -p "${pids[0]}" -o "$WEFT_BENCH_PERF" >/dev/null 2>&1 & pids+=($!); }
out=$(.build/release/weft-ca-bench "$ca_port" "$token" "$work/ca/data/trust-bundle.pem" "$connections" "$seconds")
echo "$out"
value() { echo "$out" | awk -v key="$1" '$1 == key {print $2}'; }

if [ "$record" = 1 ]; then
    {
        echo
        echo "## CA — $(date -u +%Y-%m-%d) — $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
        echo
        echo "\`Benchmarks/ca.sh $connections $seconds\` — release build; CA, PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (fsync on) and the load generator on the same machine; TLS 1.3, one P-256 CSR per request."
        echo
        echo "| figure | value | goal |"
        echo "| --- | --- | --- |"
        echo "| renewals signed/s over mutual TLS ($connections connections) | $(value renewals_per_second) (failed: $(value renewals_failed)); p50 / p99 $(value renew_p50_ms) / $(value renew_p99_ms) ms | ≥ 2,000 |"
        echo "| first certificates signed/s with join tokens ($connections connections) | $(value join_signs_per_second) (failed: $(value join_failed)); p50 / p99 $(value join_p50_ms) / $(value join_p99_ms) ms | — |"
    } >> Benchmarks/RESULTS.md
fi
