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
# WEFT_BENCH_CONFIG=debug runs a debug CA; WEFT_BENCH_PERF=file records it with perf.
set -euo pipefail
cd "$(dirname "$0")/.."

record=1
if [ "${1:-}" = "--no-record" ]; then record=0; shift; fi
connections=${1:-32}
seconds=${2:-10}

. Benchmarks/lib.sh

config=${WEFT_BENCH_CONFIG:-release}
swift build -c "$config" --product weft-ca >/dev/null
swift build -c release --product weft-ca-bench >/dev/null

start_postgres

ca_port=$(free_port)
token=bench-admin-token-0123456789
mkdir -p "$work/ca"
WEFT_ADMIN_TOKEN=$token .build/$config/weft-ca --database-url "$database_url" \
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
        echo "## CA — $(date -u +%Y-%m-%d) — $(machine)"
        echo
        echo "\`Benchmarks/ca.sh $connections $seconds\` — release build; CA, PostgreSQL $(postgres_version) (fsync on) and the load generator on the same machine; TLS 1.3, one P-256 CSR per request."
        echo
        echo "| figure | value | goal |"
        echo "| --- | --- | --- |"
        echo "| renewals signed/s over mutual TLS ($connections connections) | $(value renewals_per_second) (failed: $(value renewals_failed)); p50 / p99 $(value renew_p50_ms) / $(value renew_p99_ms) ms | ≥ 2,000 |"
        echo "| first certificates signed/s with join tokens ($connections connections) | $(value join_signs_per_second) (failed: $(value join_failed)); p50 / p99 $(value join_p50_ms) / $(value join_p99_ms) ms | — |"
    } >> Benchmarks/RESULTS.md
fi
