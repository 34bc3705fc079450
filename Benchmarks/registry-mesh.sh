#!/usr/bin/env bash
# The simulated mesh (Benchmarks/RegistryBenchmarks/MeshSimulation.swift): a
# throwaway PostgreSQL with durability as shipped, <replicas> release
# weft-registry replicas on it, and weft-registry-bench driving everything at
# once for each size: registrations as fast as they go, then 1,000 watchers
# long-polling, 10,000 heartbeats/s, 50 registrations/s of churn and a write
# every watcher must see every 500 ms. Each size runs on a database of its own
# and fresh replicas. Reports, per size, the figures and each replica's RSS
# (peak) and CPU seconds, and appends them to Benchmarks/RESULTS.md.
#
# Usage: Benchmarks/registry-mesh.sh [--no-record] [replicas] [seconds] [instances...]
#        (defaults: 1 replica, 20 s, sizes 1000 10000 50000)
set -euo pipefail
cd "$(dirname "$0")/.."

record=1
if [ "${1:-}" = "--no-record" ]; then record=0; shift; fi
replicas=${1:-1}
seconds=${2:-20}
shift 2 2>/dev/null || shift $#
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)
watchers=${WATCHERS:-1000}
heartbeats=${HEARTBEATS:-10000}
churn=${CHURN:-50}

. Benchmarks/lib.sh
ulimit -n 65536 2>/dev/null || ulimit -n 4096

swift build -c release --product weft-registry >/dev/null
swift build -c release --product weft-registry-bench >/dev/null

start_postgres -c max_connections=300
token=bench-admin-token-0123456789
rows=()
for size in "${sizes[@]}"; do
    db="mesh_$size"
    "${run_as[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U weft -d postgres -qc "CREATE DATABASE $db" >/dev/null
    url="postgresql://weft@127.0.0.1:$pg_port/$db"
    ports=()
    registry_pids=()
    for r in $(seq "$replicas"); do
        port=$(free_port)
        WEFT_ADMIN_TOKEN=$token .build/release/weft-registry --database-url "$url" --listen 127.0.0.1:"$port" \
            --log-level "${WEFT_BENCH_LOG_LEVEL:-warning}" & pids+=($!); registry_pids+=($!)
        ports+=("$port")
        for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
    done
    port_list=$(IFS=,; echo "${ports[*]}")
    echo "== $size instances, $replicas replica(s)" >&2
    out=$(.build/release/weft-registry-bench mesh "$port_list" "$token" "$size" "$watchers" "$seconds" "$heartbeats" "$churn")
    echo "$out"
    value() { echo "$out" | awk -v key="$1" '$1 == key {print $2}'; }
    memory=""
    cpu=""
    for pid in "${registry_pids[@]}"; do
        memory+="$(awk '/VmHWM/ {printf "%.0f MB ", $2/1024}' /proc/"$pid"/status)"
        cpu+="$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f s ", ($14+$15)/hz}' /proc/"$pid"/stat)"
        kill "$pid"
    done
    wait "${registry_pids[@]}" 2>/dev/null || true
    rows+=("| $size | $(value registrations_per_second) | $(value heartbeats_per_second) ($(value heartbeats_failed) failed) | $(value probe_all_watchers_p50_ms) / $(value probe_all_watchers_p99_ms) ms ($(value probe_writes) writes) | $(value churn_concerned_watchers_p50_ms) / $(value churn_concerned_watchers_p99_ms) ms (~$(value churn_concerned_watchers_mean) watchers) | $(value watcher_answers_per_second) × $(( $(value answer_bytes_mean) / 1024 )) KiB | $(value watchers_missed) | ${memory% } | ${cpu% } | $(value generator_cpu_seconds) s |")
done

table() {
    echo "| instances | registrations/s | heartbeats/s | write → all $watchers watchers, p50 / p99 | churn write → its watchers, p50 / p99 | answers/s × mean size | missed | registry peak RSS | registry CPU | load generator CPU |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
}
table
if [ "$record" = 1 ]; then
    {
        echo
        echo "## Registry, simulated mesh — $(date -u +%Y-%m-%d) — $(machine)"
        echo
        echo "\`Benchmarks/registry-mesh.sh $replicas $seconds ${sizes[*]}\` — $replicas release replica(s) on one PostgreSQL $(postgres_version) (fsync on), $watchers watchers, $heartbeats heartbeats/s, $churn churn writes/s for $seconds s, the load generator on the same machine. Goals: write → all watchers p99 ≤ 50 ms, ≥ 2,000 registrations/s, ≥ 10,000 heartbeats/s."
        echo
        table
    } >> Benchmarks/RESULTS.md
fi
