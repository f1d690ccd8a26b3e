#!/usr/bin/env bash
# Throwaway local PostgreSQL cluster for the test suite.
#
#   eng/postgres.sh start <dir>   create + start a cluster in <dir>; prints ONE line on
#                                 stdout: the Npgsql connection string. Everything else
#                                 goes to stderr.
#   eng/postgres.sh stop <dir>    stop the cluster (pg_ctl stop -m fast) and remove <dir>.
#                                 Idempotent; safe after a half-failed start.
#   eng/postgres.sh bindir        print the PostgreSQL bin directory that would be used
#                                 (exit 1 if none is found).
#
# Binaries: $EVENTSOURCING_PG_BINDIR if set, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin, else initdb/pg_ctl on PATH.
# As root (initdb refuses root) the server runs as the `postgres` system user.
set -euo pipefail

readonly MARKER=".eventsourcing-test-postgres"
readonly DB_NAME="eventsourcing_tests"
readonly SUPERUSER="postgres"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    cat >&2 <<'EOF'
usage: eng/postgres.sh start <dir>
       eng/postgres.sh stop <dir>
       eng/postgres.sh bindir
EOF
    exit 2
}

# A bin directory is usable when it has the server tools we need.
usable_bindir() {
    local d="$1"
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]
}

find_bindir() {
    local d
    if [ -n "${EVENTSOURCING_PG_BINDIR:-}" ]; then
        if usable_bindir "$EVENTSOURCING_PG_BINDIR"; then
            printf '%s\n' "$EVENTSOURCING_PG_BINDIR"; return 0
        fi
        log "EVENTSOURCING_PG_BINDIR=$EVENTSOURCING_PG_BINDIR has no initdb/pg_ctl/postgres; ignoring it"
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if usable_bindir "$d"; then printf '%s\n' "$d"; return 0; fi
    fi
    # Newest usable versioned Debian/Ubuntu layout (/usr/lib/postgresql/<ver>/bin).
    while IFS= read -r d; do
        if usable_bindir "$d"; then printf '%s\n' "$d"; return 0; fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -rV)
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        d="$(dirname "$(command -v initdb)")"
        printf '%s\n' "$d"; return 0
    fi
    return 1
}

require_bindir() {
    BINDIR="$(find_bindir)" || die "no PostgreSQL server binaries found (tried \$EVENTSOURCING_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin, PATH). Install PostgreSQL, e.g. 'apt-get install -y postgresql', or set EVENTSOURCING_TEST_POSTGRES to an existing server's connection string."
}

is_root() { [ "$(id -u)" = "0" ]; }

# Run a server tool as the cluster owner. As root that is the `postgres` system user;
# we cd to / first so the tools do not trip over an unreadable cwd (e.g. /root).
as_owner() {
    if is_root; then
        (cd / && runuser -u "$SUPERUSER" -- "$@")
    else
        "$@"
    fi
}

port_in_use() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        # any local TCP socket on that port (listening or not) counts as in use
        [ -n "$(ss -Htan "sport = :$port" 2>/dev/null)" ] && return 0
        return 1
    fi
    # fallback: something accepts connections there
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    return 1
}

pick_port() {
    local port
    for _ in $(seq 1 200); do
        # below the usual ephemeral range (32768-60999) to avoid clashing with outgoing sockets
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        if ! port_in_use "$port"; then printf '%s\n' "$port"; return 0; fi
    done
    return 1
}

# True if $1 is a live (not zombie) process.
pid_alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [ "$state" != "Z" ] && [ "$state" != "X" ]
}

abs_dir() { (cd "$1" && pwd -P); }

cmd_bindir() {
    require_bindir
    printf '%s\n' "$BINDIR"
}

cmd_start() {
    local dir="$1"
    require_bindir
    log "using PostgreSQL binaries in $BINDIR ($("$BINDIR/postgres" --version 2>/dev/null || echo 'unknown version'))"

    if is_root; then
        id -u "$SUPERUSER" >/dev/null 2>&1 \
            || die "running as root but there is no '$SUPERUSER' system user to run the server as (initdb refuses root)"
        command -v runuser >/dev/null 2>&1 || die "running as root but 'runuser' is not available"
    fi

    mkdir -p "$dir"
    dir="$(abs_dir "$dir")"
    if [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$MARKER" ]; then
        die "$dir is not empty and was not created by this script; refusing to use it"
    fi
    if [ -e "$dir/data/PG_VERSION" ]; then
        die "$dir already holds a cluster; run 'eng/postgres.sh stop $dir' first"
    fi
    : > "$dir/$MARKER"

    local data="$dir/data" logfile="$dir/postgres.log"
    if is_root; then
        chown -R "$SUPERUSER:" "$dir"
        chmod 700 "$dir"
        runuser -u "$SUPERUSER" -- test -w "$dir" \
            || die "the '$SUPERUSER' user cannot write to $dir (a parent directory is not traversable?); use a directory under /tmp"
    fi

    # Unix socket paths are limited to ~107 bytes; fall back to TCP only if too long.
    local sockdir="$dir"
    if [ $(( ${#dir} + 20 )) -gt 100 ]; then
        log "warning: $dir is too long for a unix socket path; disabling the unix socket"
        sockdir=""
    fi

    log "initdb in $data"
    if ! as_owner "$BINDIR/initdb" -D "$data" -U "$SUPERUSER" --auth=trust \
            --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2 || true
        die "initdb failed"
    fi

    # Only trust local connections: the unix socket (in a private dir) and 127.0.0.1.
    as_owner tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF

    local attempt port started=""
    for attempt in 1 2 3 4 5; do
        port="$(pick_port)" || die "could not find a free TCP port"
        as_owner tee "$data/postgresql.auto.conf" >/dev/null <<EOF
# written by eng/postgres.sh: throwaway test cluster, durability off
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
max_prepared_transactions = 10
shared_buffers = 256MB
logging_collector = off
EOF
        log "starting server on 127.0.0.1:$port (attempt $attempt)"
        if as_owner "$BINDIR/pg_ctl" -D "$data" -l "$logfile" -w -t 60 -s start >&2; then
            started=1
            break
        fi
        if grep -qiE 'could not (bind|create listen)|address already in use' "$logfile" 2>/dev/null; then
            log "port $port was taken, retrying with another one"
            as_owner "$BINDIR/pg_ctl" -D "$data" -m immediate -s stop >/dev/null 2>&1 || true
            continue
        fi
        break
    done
    if [ -z "$started" ]; then
        tail -n 30 "$logfile" >&2 2>/dev/null || true
        as_owner "$BINDIR/pg_ctl" -D "$data" -m immediate -s stop >/dev/null 2>&1 || true
        die "could not start PostgreSQL (log: $logfile)"
    fi
    printf '%s\n' "$port" > "$dir/port"

    # Connect over TCP explicitly; ignore any PG* settings from the caller's environment.
    local psql_ok=""
    for attempt in $(seq 1 30); do
        if env -u PGSERVICE -u PGSSLMODE -u PGOPTIONS -u PGPASSWORD \
                "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres \
                -c "CREATE DATABASE $DB_NAME" >&2 </dev/null; then
            psql_ok=1
            break
        fi
        sleep 0.5
    done
    if [ -z "$psql_ok" ]; then
        as_owner "$BINDIR/pg_ctl" -D "$data" -m immediate -s stop >/dev/null 2>&1 || true
        die "could not create database $DB_NAME"
    fi

    log "ready: 127.0.0.1:$port, database $DB_NAME, data in $data"
    printf 'Host=127.0.0.1;Port=%s;Username=%s;Database=%s;Pooling=true;Maximum Pool Size=100\n' \
        "$port" "$SUPERUSER" "$DB_NAME"
}

cmd_stop() {
    local dir="$1"
    if [ ! -d "$dir" ]; then
        return 0
    fi
    dir="$(abs_dir "$dir")"
    case "$dir" in
        /|/tmp|/root|/home|/usr|/var|/etc) die "refusing to operate on $dir" ;;
    esac
    local data="$dir/data"

    if [ -f "$data/postmaster.pid" ]; then
        local pid=""
        pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
        if ! pid_alive "$pid"; then
            log "server in $data is not running (stale postmaster.pid)"
        elif BINDIR="$(find_bindir)"; then
            log "stopping server in $data"
            as_owner "$BINDIR/pg_ctl" -D "$data" -m fast -w -t 30 -s stop >&2 \
                || as_owner "$BINDIR/pg_ctl" -D "$data" -m immediate -w -t 30 -s stop >&2 \
                || true
        fi
        # Last resort: signal the postmaster directly (immediate shutdown) and wait for it.
        if pid_alive "$pid" && grep -q postgres "/proc/$pid/cmdline" 2>/dev/null; then
            log "postmaster $pid still running; sending SIGQUIT"
            kill -QUIT "$pid" 2>/dev/null || true
            local _
            for _ in $(seq 1 50); do
                pid_alive "$pid" || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi

    if [ -e "$dir/$MARKER" ] || [ -z "$(ls -A "$dir")" ]; then
        rm -rf -- "$dir"
    else
        log "warning: $dir was not created by eng/postgres.sh start; not removing it"
    fi
}

[ $# -ge 1 ] || usage
case "$1" in
    start) [ $# -eq 2 ] || usage; cmd_start "$2" ;;
    stop)  [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
    bindir) [ $# -eq 1 ] || usage; cmd_bindir ;;
    -h|--help) usage ;;
    *) usage ;;
esac
