# Sourced by the benchmark scripts. `start_postgres [server options]` starts a
# throwaway PostgreSQL (initdb, loopback, fsync and synchronous_commit on as
# shipped) in a temporary directory and sets `work`, `pg_bin`, `pg_port` and
# `database_url`; processes appended to `pids` are stopped, and the cluster and
# directory removed, when the script exits.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

pids=()
run_as=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${work:-}" ]; then
        "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work/data" stop -m fast >/dev/null 2>&1 || true
        rm -rf "$work"
    fi
}
trap cleanup EXIT

start_postgres() {
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$pg_bin/initdb" ] || { echo "needs PostgreSQL's server binaries (scripts/install-deps)" >&2; exit 2; }
    work=$(mktemp -d)
    chmod 755 "$work"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$work"; run_as=(runuser -u postgres --); fi
    pg_port=$(free_port)
    "${run_as[@]}" "$pg_bin/initdb" -D "$work/data" -U weft --auth=trust --no-instructions >/dev/null
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w \
        -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 $*" start >/dev/null
    database_url="postgresql://weft@127.0.0.1:$pg_port/postgres"
}

postgres_version() { "$pg_bin/postgres" --version | awk '{print $3}'; }

machine() {
    echo "$(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
}
