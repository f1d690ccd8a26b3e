#!/usr/bin/env bash
# Side-by-side benchmark of EventSourcing.EFCore: the library, the raw Npgsql ceiling and a naive EF Core mapping.
#
#   eng/bench.sh [--quick] [--no-build] [-- <extra benchmark arguments, e.g. --only A,B, --runs R, --alloc-profile>]
#
#   --quick      small sizes, 3 interleaved runs per variant (a smoke run); without it the full run (R = 5-11, under 25 minutes)
#   --no-build   use the existing Release build
#
# PostgreSQL: uses $EVENTSOURCING_BENCH_POSTGRES as is when set (the benchmark creates and drops its own databases
# es_bench_*); otherwise starts a throwaway cluster with eng/postgres.sh (always stopped on exit) and switches it
# back to PostgreSQL's default durability settings (fsync, synchronous_commit, full_page_writes on), which the test
# cluster turns off, so that commits cost what they cost on a default server.
# Reports (markdown + CSV) go to artifacts/bench/ (ignored by git): bench-<mode>-<utc time>.{md,csv} and bench-<mode>-latest.{md,csv}.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd -P)"
readonly PROJECT="tests/EventSourcing.EFCore.Benchmarks/EventSourcing.EFCore.Benchmarks.csproj"

MODE_ARGS=()
NO_BUILD=""
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) MODE_ARGS+=(--quick) ;;
        --no-build) NO_BUILD=1 ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,16p' "$0" >&2; exit 2 ;;
        *) echo "eng/bench.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDDISABLENODEREUSE=1

PG_DIR=""
cleanup() {
    if [ -n "$PG_DIR" ]; then
        bash "$REPO_ROOT/eng/postgres.sh" stop "$PG_DIR" >&2 || echo "eng/bench.sh: warning: could not stop PostgreSQL in $PG_DIR" >&2
        PG_DIR=""
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if [ -z "${EVENTSOURCING_BENCH_POSTGRES:-}" ]; then
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/eventsourcing-bench-pg.XXXXXXXX")"
    echo "==> PostgreSQL: starting a throwaway cluster in $PG_DIR"
    conn="$(bash "$REPO_ROOT/eng/postgres.sh" start "$PG_DIR" </dev/null)"
    port="$(printf '%s' "$conn" | sed -n 's/.*Port=\([0-9]*\).*/\1/p')"
    bindir="$(bash "$REPO_ROOT/eng/postgres.sh" bindir)"
    env -u PGSERVICE -u PGOPTIONS -u PGPASSWORD "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" -c "ALTER SYSTEM SET full_page_writes = on" \
        -c "SELECT pg_reload_conf()" >/dev/null </dev/null
    export EVENTSOURCING_BENCH_POSTGRES="$conn"
fi

if [ -z "$NO_BUILD" ]; then
    echo "==> dotnet build $PROJECT -c Release"
    dotnet build "$PROJECT" -c Release -warnaserror -v quiet -nologo </dev/null
fi

echo "==> benchmark ${MODE_ARGS[*]:-(full)} ${EXTRA[*]:-}"
dotnet run -c Release --no-build --project "$PROJECT" -- "${MODE_ARGS[@]}" --out "$REPO_ROOT/artifacts/bench" "${EXTRA[@]}" </dev/null
