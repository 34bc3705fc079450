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

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL's server binaries (scripts/install-deps)" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n 4096

swift build -c release --product weft-registry >/dev/null
swift build -c release --product weft-registry-bench >/dev/null

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
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null

registry_port=$(free_port)
token=bench-admin-token-0123456789
WEFT_ADMIN_TOKEN=$token .build/release/weft-registry --database-url "postgresql://weft@127.0.0.1:$pg_port/postgres" \
    --listen 127.0.0.1:"$registry_port" --log-level "${WEFT_BENCH_LOG_LEVEL:-warning}" & pids+=($!)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$registry_port/readyz" >/dev/null && break; sleep 0.05; done

out=$(.build/release/weft-registry-bench "$registry_port" "$token" "$connections" "$seconds" "$watchers" "$rounds")
echo "$out"
value() { echo "$out" | awk -v key="$1" '$1 == key {print $2}'; }

if [ "$record" = 1 ]; then
    {
        echo
        echo "## Registry — $(date -u +%Y-%m-%d) — $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
        echo
        echo "\`Benchmarks/registry.sh $connections $seconds $watchers $rounds\` — release build; registry, PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (fsync on) and the load generator on the same machine."
        echo
        echo "| figure | value | goal |"
        echo "| --- | --- | --- |"
        echo "| registrations/s ($connections connections) | $(value registrations_per_second) (failed: $(value registrations_failed)) | — |"
        echo "| heartbeats/s ($connections connections) | $(value heartbeats_per_second) (failed: $(value heartbeats_failed)) | ≥ 10,000 |"
        echo "| write → all $watchers watchers answered, p50 / p99 over $rounds writes | $(value watchers_all_seen_p50_ms) / $(value watchers_all_seen_p99_ms) ms | p99 ≤ 50 ms |"
        echo "| write → one watcher answered, p50 / p99 | $(value watcher_latency_p50_ms) / $(value watcher_latency_p99_ms) ms | — |"
    } >> Benchmarks/RESULTS.md
fi
