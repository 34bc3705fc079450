#!/usr/bin/env bash
# WeftProtocol benchmark: regex (SafeRegex vs Swift Regex, ordinary and hostile
# input), firmware version-range matching, route-table decoding. Release build.
# Appends a section to Benchmarks/RESULTS.md with the command and the machine.
#
# Usage: Benchmarks/protocol.sh [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product weft-protocol-bench >/dev/null
table=$(.build/release/weft-protocol-bench)
echo "$table"

if [ "${1:-}" != "--no-record" ]; then
    {
        echo
        echo "## WeftProtocol: $(date -u +%Y-%m-%d)"
        echo
        echo "Command: \`Benchmarks/protocol.sh\` (release build, one process, comparisons within the same run)."
        echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(swift --version 2>&1 | head -1)."
        echo
        echo "$table"
    } >> Benchmarks/RESULTS.md
fi
