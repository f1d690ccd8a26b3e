#!/usr/bin/env bash
# Packs EventSourcing.EFCore, EventSourcing.EFCore.PostgreSQL and EventSourcing.EFCore.Testing.
#
#   eng/pack.sh [--output <dir>] [--no-build]
#
#   --output <dir>   where the .nupkg/.snupkg files go (default: artifacts/packages, emptied first)
#   --no-build       pack the existing Release build (as eng/test.sh does after its build)
#
# The version comes from git tags (MinVer, see Directory.Build.props): tag `v1.2.3` packs 1.2.3; without tags
# 1.0.0-alpha.0.<commits>. The build is a CI build (ContinuousIntegrationBuild: source paths /_/, SourceLink to the
# commit), and package validation runs as part of the pack. Prints each package's contents.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1

OUT="artifacts/packages"
NO_BUILD=""
while [ $# -gt 0 ]; do
    case "$1" in
        --output) [ $# -ge 2 ] || { echo "eng/pack.sh: --output needs a directory" >&2; exit 2; }; OUT="$2"; shift ;;
        --no-build) NO_BUILD=1 ;;
        *) echo "usage: eng/pack.sh [--output <dir>] [--no-build]" >&2; exit 2 ;;
    esac
    shift
done

rm -rf -- "$OUT"
mkdir -p "$OUT"
args=(pack EventSourcing.EFCore.sln -c Release -o "$OUT" -warnaserror -p:ContinuousIntegrationBuild=true)
if [ -n "$NO_BUILD" ]; then args+=(--no-build); fi
t0="$(date +%s.%N)"
dotnet "${args[@]}" </dev/null
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "eng/pack.sh: dotnet pack took %.1f s\n", b - a }'

shopt -s nullglob
packages=("$OUT"/*.nupkg)
[ ${#packages[@]} -eq 4 ] || { echo "eng/pack.sh: expected 4 packages (core, PostgreSQL, Testing, RabbitMQ) in $OUT, found ${#packages[@]}" >&2; exit 1; }
for package in "${packages[@]}" "$OUT"/*.snupkg; do
    echo "== $(basename "$package")"
    unzip -l "$package" | awk 'NR > 3 && $4 != "" && $4 !~ /^(\[Content_Types\]\.xml|_rels\/|package\/)/ { printf "   %10s  %s\n", $1, $4 }'
done
