#!/usr/bin/env bash
# The gateway's route matching cost per request: the routing view of a request,
# the first rule that takes it, its destination; tables of 10, 100 and 1,000
# rules, discriminated by path or all on one path. Release build, one process.
# Appends a section to Benchmarks/RESULTS.md with the command and the machine.
#
# Usage: Benchmarks/gateway-routing.sh [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product weft-proxy-bench >/dev/null
table=$(.build/release/weft-proxy-bench)
echo "$table"

if [ "${1:-}" != "--no-record" ]; then
    {
        echo
        echo "## Gateway route matching: $(date -u +%Y-%m-%d)"
        echo
        echo "Command: \`Benchmarks/gateway-routing.sh\` (release build, one process; the request matches the last rule of the table)."
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(swift --version 2>&1 | head -1)."
        echo
        echo "$table"
    } >> Benchmarks/RESULTS.md
fi
