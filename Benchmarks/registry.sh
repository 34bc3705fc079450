#!/usr/bin/env bash
# Registry benchmark: a throwaway PostgreSQL (initdb, loopback, durability as
# PostgreSQL ships it: fsync and synchronous_commit on), one release weft-registry,
# and weft-registry-bench driving it over HTTP/1.1 keep-alive connections:
# registrations/s, heartbeats/s, and the time from a write until all of N
# long-polling watchers have their new snapshot. Appends the results, with the
# command and the machine, to Benchmarks/RESULTS.md.
#
# Usage: Benchmarks/registry.sh [--no-record] [connections] [seconds] [watchers] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."

record=1
if [ "${1:-}" = "--no-record" ]; then record=0; shift; fi
connections=${1:-32}
seconds=${2:-10}
watchers=${3:-1000}
rounds=${4:-20}

. Benchmarks/lib.sh
ulimit -n 65536 2>/dev/null || ulimit -n 4096

swift build -c release --product weft-registry >/dev/null
swift build -c release --product weft-registry-bench >/dev/null

start_postgres -c max_connections=200

registry_port=$(free_port)
token=bench-admin-token-0123456789
WEFT_ADMIN_TOKEN=$token .build/release/weft-registry --database-url "$database_url" \
    --listen 127.0.0.1:"$registry_port" --log-level "${WEFT_BENCH_LOG_LEVEL:-warning}" & pids+=($!)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$registry_port/readyz" >/dev/null && break; sleep 0.05; done

out=$(.build/release/weft-registry-bench "$registry_port" "$token" "$connections" "$seconds" "$watchers" "$rounds")
echo "$out"
value() { echo "$out" | awk -v key="$1" '$1 == key {print $2}'; }

if [ "$record" = 1 ]; then
    {
        echo
        echo "## Registry — $(date -u +%Y-%m-%d) — $(machine)"
        echo
        echo "\`Benchmarks/registry.sh $connections $seconds $watchers $rounds\` — release build; registry, PostgreSQL $(postgres_version) (fsync on) and the load generator on the same machine."
        echo
        echo "| figure | value | goal |"
        echo "| --- | --- | --- |"
        echo "| registrations/s ($connections connections) | $(value registrations_per_second) (failed: $(value registrations_failed)) | — |"
        echo "| heartbeats/s ($connections connections) | $(value heartbeats_per_second) (failed: $(value heartbeats_failed)) | ≥ 10,000 |"
        echo "| write → all $watchers watchers answered, p50 / p99 over $rounds writes | $(value watchers_all_seen_p50_ms) / $(value watchers_all_seen_p99_ms) ms | p99 ≤ 50 ms |"
        echo "| write → one watcher answered, p50 / p99 | $(value watcher_latency_p50_ms) / $(value watcher_latency_p99_ms) ms | — |"
    } >> Benchmarks/RESULTS.md
fi
