#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of every project under src/ from its current public API.
#
#   eng/public-api.sh            rewrite the Unshipped files, then build src/ to show what is left
#   eng/public-api.sh --check    only build src/: fails (RS0016/RS0017) when the files and the code disagree
#
# The public API is tracked by Microsoft.CodeAnalysis.PublicApiAnalyzers: PublicAPI.Shipped.txt lists what a
# released version shipped (edit it by hand when releasing: move the Unshipped lines into it); PublicAPI.Unshipped.txt
# lists what was added since. A build fails (RS0016) when a public symbol is missing from both, and (RS0017) when a
# listed symbol no longer exists. After merging branches that each added API, run this script and review the diff:
# every line that appears or disappears in it is a public API change.
#
# Works offline: `dotnet format analyzers` applies the analyzer's own code fix (RS0016 "add to the public API") to an
# emptied Unshipped file. Symbols that are in PublicAPI.Shipped.txt but were removed (RS0017 in the Shipped file) are
# breaking changes and are not fixed here: the build at the end reports them.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1

CHECK=""
case "${1:-}" in
    --check) CHECK=1 ;;
    "") ;;
    *) echo "usage: eng/public-api.sh [--check]" >&2; exit 2 ;;
esac

PROJECTS=(src/*/*.csproj)
if [ -z "$CHECK" ]; then
    for proj in "${PROJECTS[@]}"; do
        dotnet restore "$proj" >/dev/null
    done
    for proj in "${PROJECTS[@]}"; do
        dir="$(dirname "$proj")"
        [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' >"$dir/PublicAPI.Shipped.txt"
        printf '#nullable enable\n' >"$dir/PublicAPI.Unshipped.txt"
        echo "==> $proj: regenerating PublicAPI.Unshipped.txt"
        # --severity warn: RS0016 is reported as a warning by default; apply its fix at that level.
        dotnet format analyzers "$proj" --no-restore --diagnostics RS0016 --severity warn >/dev/null 2>&1 || true
        echo "    $(($(wc -l <"$dir/PublicAPI.Unshipped.txt") - 1)) unshipped public symbols"
    done
fi

status=0
for proj in "${PROJECTS[@]}"; do
    echo "==> dotnet build $proj -c Release (public API check)"
    dotnet build "$proj" -c Release -warnaserror -clp:ErrorsOnly -nologo || status=$?
done
if [ "$status" -ne 0 ]; then
    echo "eng/public-api.sh: the public API files and the code disagree (see the RS00xx errors above)" >&2
fi
exit "$status"
