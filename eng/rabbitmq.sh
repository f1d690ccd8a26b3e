#!/usr/bin/env bash
# Throwaway local RabbitMQ node for the test suite (Debian's rabbitmq-server package).
#
#   eng/rabbitmq.sh start <dir>   start a node whose files all live in <dir> (its own node name, AMQP port,
#                                 distribution port and epmd port); prints ONE line on stdout: the AMQP URI.
#                                 Everything else goes to stderr.
#   eng/rabbitmq.sh stop <dir>    stop that node (and its epmd), remove <dir>. Idempotent.
#   eng/rabbitmq.sh pause <dir>   stop the broker application in that node (connections drop; durable queues keep
#                                 their messages), as a broker outage; 'resume <dir>' starts it again.
#   eng/rabbitmq.sh bindir        print the RabbitMQ sbin directory that would be used (exit 1 if none).
#
# Binaries: $EVENTSOURCING_RABBITMQ_SBIN if set, else /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin (the scripts
# themselves, not Debian's /usr/sbin wrappers, which switch to the rabbitmq user). Install with
# 'apt-get install -y rabbitmq-server' (.ci/run does it when it is missing). The node runs as the calling user.
set -euo pipefail

readonly MARKER=".eventsourcing-test-rabbitmq"

log() { printf 'rabbitmq.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() {
    cat >&2 <<'USAGE'
usage: eng/rabbitmq.sh start <dir>
       eng/rabbitmq.sh stop <dir>
       eng/rabbitmq.sh pause|resume <dir>
       eng/rabbitmq.sh bindir
USAGE
    exit 2
}

find_sbin() {
    local d
    if [ -n "${EVENTSOURCING_RABBITMQ_SBIN:-}" ] && [ -x "$EVENTSOURCING_RABBITMQ_SBIN/rabbitmq-server" ]; then
        printf '%s\n' "$EVENTSOURCING_RABBITMQ_SBIN"; return 0
    fi
    while IFS= read -r d; do
        if [ -x "$d/rabbitmq-server" ] && [ -x "$d/rabbitmqctl" ]; then printf '%s\n' "$d"; return 0; fi
    done < <(find /usr/lib/rabbitmq/lib -mindepth 2 -maxdepth 2 -type d -name sbin 2>/dev/null | sort -rV)
    return 1
}

port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ] && return 0
        return 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    return 1
}

# A free port below the ephemeral range whose +1 is free too (the distribution port).
pick_port() {
    local port
    for _ in $(seq 1 200); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        if ! port_in_use "$port" && ! port_in_use $((port + 1)) && ! port_in_use $((port + 2)); then
            printf '%s\n' "$port"; return 0
        fi
    done
    return 1
}

# The environment of the node in <dir>: every file, port and the cookie (HOME) are its own.
node_env() {
    local dir="$1" port
    port="$(cat "$dir/port")"
    export HOME="$dir/home"
    export RABBITMQ_NODENAME="esrabbit$port@localhost"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$port"
    export RABBITMQ_DIST_PORT=$((port + 1))
    export ERL_EPMD_PORT=$((port + 2))
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE="$dir/mnesia"
    export RABBITMQ_LOG_BASE="$dir/log"
    export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    export RABBITMQ_ALLOW_INPUT=""
}

cmd_start() {
    local dir="$1" sbin port
    sbin="$(find_sbin)" || die "no RabbitMQ server found (tried \$EVENTSOURCING_RABBITMQ_SBIN, /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin). Install it with 'apt-get install -y rabbitmq-server', or set EVENTSOURCING_TEST_RABBITMQ to an existing broker's AMQP URI."
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd -P)"
    if [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$MARKER" ]; then
        die "$dir is not empty and was not created by this script; refusing to use it"
    fi
    : > "$dir/$MARKER"
    mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
    chmod 700 "$dir/home"
    port="$(pick_port)" || die "could not find free TCP ports"
    printf '%s\n' "$port" > "$dir/port"
    : > "$dir/rabbitmq-env.conf"
    printf '[].\n' > "$dir/enabled_plugins"
    printf '[].\n' > "$dir/advanced.config"
    # guest/guest over loopback only (the default); small disk and memory floors for a shared CI machine.
    cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$port
loopback_users.guest = true
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.6
log.file.level = warning
log.console = false
CONF
    node_env "$dir"
    log "starting node $RABBITMQ_NODENAME on 127.0.0.1:$port (files in $dir)"
    # Detached, with no descriptor of ours but the log (an inherited pipe would keep a caller's $(...) waiting).
    (
        cd "$dir"
        for fd in /proc/$BASHPID/fd/*; do
            fd="${fd##*/}"
            if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec setsid "$sbin/rabbitmq-server" >"$dir/server.out" 2>&1 </dev/null
    ) &
    local ok=""
    for _ in $(seq 1 120); do
        if "$sbin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" await_startup >/dev/null 2>&1 </dev/null; then ok=1; break; fi
        sleep 0.5
    done
    if [ -z "$ok" ]; then
        tail -n 30 "$dir/server.out" >&2 2>/dev/null || true
        cmd_stop "$dir" || true
        die "RabbitMQ did not start (log: $dir/server.out)"
    fi
    log "ready: amqp://guest:guest@127.0.0.1:$port/"
    printf 'amqp://guest:guest@127.0.0.1:%s/\n' "$port"
}

cmd_stop() {
    local dir="$1" sbin
    [ -d "$dir" ] || return 0
    dir="$(cd "$dir" && pwd -P)"
    case "$dir" in /|/tmp|/root|/home|/usr|/var|/etc) die "refusing to operate on $dir" ;; esac
    [ -e "$dir/$MARKER" ] || { log "warning: $dir was not created by eng/rabbitmq.sh start; not touching it"; return 0; }
    if [ -f "$dir/port" ] && sbin="$(find_sbin)"; then
        (
            node_env "$dir"
            local pid
            pid="$(cat "$RABBITMQ_PID_FILE" 2>/dev/null || true)"
            "$sbin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 </dev/null || true
            if [[ "$pid" =~ ^[0-9]+$ ]]; then
                for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$pid" 2>/dev/null || true
            fi
            # the node's own epmd (on its own port) was started for it: stop it too, once the node is gone
            if command -v epmd >/dev/null 2>&1; then epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true; fi
        )
    fi
    rm -rf -- "$dir"
}

cmd_app() {
    local dir="$1" action="$2" sbin
    sbin="$(find_sbin)" || die "no RabbitMQ server found"
    dir="$(cd "$dir" && pwd -P)"
    [ -e "$dir/$MARKER" ] || die "$dir was not created by eng/rabbitmq.sh start"
    node_env "$dir"
    "$sbin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" "$action" >&2 </dev/null
}

[ $# -ge 1 ] || usage
case "$1" in
    pause) [ $# -eq 2 ] || usage; cmd_app "$2" stop_app ;;
    resume) [ $# -eq 2 ] || usage; cmd_app "$2" start_app ;;
    start) [ $# -eq 2 ] || usage; cmd_start "$2" ;;
    stop) [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
    bindir) [ $# -eq 1 ] || usage; find_sbin || exit 1 ;;
    *) usage ;;
esac
