#!/usr/bin/env bash
# Builds and runs the documentation's code against packed packages, as a new user would: docs/getting-started.md's
# console app (Shop) and NUnit test project (Shop.Tests), and the README's quick start (QuickStart), in a folder outside
# the repository, with their own NuGet.config whose sources are the package folder and nuget.org (no project reference
# to src/).
#
#   eng/consumer.sh <package-folder> [<work-folder>]
#
# The C# files are the code blocks marked `<!-- file: <project>/<file>.cs -->` in docs/getting-started.md and README.md
# (a file marked in both must be identical in both). The project files come from eng/consumer/. Shop runs on EF InMemory; Shop.Tests needs a PostgreSQL server: SHOP_TEST_POSTGRES,
# or else EVENTSOURCING_TEST_POSTGRES. Ends with "consumer: passed" or a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd -P)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1

FEED="$(cd "${1:?usage: eng/consumer.sh <package-folder> [<work-folder>]}" && pwd -P)"
WORK="${2:-$(mktemp -d "${TMPDIR:-/tmp}/eventsourcing-consumer.XXXXXXXX")}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd -P)"
case "$WORK/" in "$REPO_ROOT/"*) echo "eng/consumer.sh: the work folder must be outside the repository" >&2; exit 2 ;; esac

fail() { echo "eng/consumer.sh: $*" >&2; exit 1; }

# The version of the packed packages (all three share it).
shopt -s nullglob
core=("$FEED"/EventSourcing.EFCore.[0-9]*.nupkg)
[ ${#core[@]} -eq 1 ] || fail "expected one EventSourcing.EFCore package in $FEED, found ${#core[@]}"
VERSION="$(basename "${core[0]}" .nupkg)"; VERSION="${VERSION#EventSourcing.EFCore.}"
for id in EventSourcing.EFCore.PostgreSQL EventSourcing.EFCore.Testing; do
    [ -f "$FEED/$id.$VERSION.nupkg" ] || fail "$FEED/$id.$VERSION.nupkg is missing"
done
version_of() { sed -n "s/.*PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" Directory.Packages.props | head -n 1; }
EFCORE_VERSION="$(sed -n 's/.*<EFCoreVersion>\(.*\)<\/EFCoreVersion>.*/\1/p' Directory.Packages.props)"

PROJECTS=(Shop/Shop.csproj Shop.Tests/Shop.Tests.csproj QuickStart/QuickStart.csproj)
rm -rf -- "$WORK/Shop" "$WORK/Shop.Tests" "$WORK/QuickStart"
mkdir -p "$WORK/Shop" "$WORK/Shop.Tests" "$WORK/QuickStart" "$WORK/packages"
printf '<Solution>\n' >"$WORK/Consumer.slnx"
for proj in "${PROJECTS[@]}"; do
    printf '  <Project Path="%s" />\n' "$proj" >>"$WORK/Consumer.slnx"
    sed -e "s/@VERSION@/$VERSION/g" -e "s/@EFCORE_VERSION@/$EFCORE_VERSION/g" \
        -e "s/@TEST_SDK_VERSION@/$(version_of Microsoft.NET.Test.Sdk)/g" -e "s/@NUNIT_VERSION@/$(version_of NUnit)/g" \
        -e "s/@NUNIT_ADAPTER_VERSION@/$(version_of NUnit3TestAdapter)/g" "eng/consumer/$proj" >"$WORK/$proj"
done
printf '</Solution>\n' >>"$WORK/Consumer.slnx"

# The packages come from the folder; everything else from nuget.org. A private package cache, so a package of the same
# version packed earlier can never be used instead; what the machine's cache already has is reused (fallback folder).
cat >"$WORK/NuGet.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$FEED" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="EventSourcing.EFCore*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
  <config>
    <add key="globalPackagesFolder" value="$WORK/packages" />
  </config>
  <fallbackPackageFolders>
    <add key="machine" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" />
  </fallbackPackageFolders>
</configuration>
CONFIG

# Extract the marked code blocks: docs/getting-started.md first, then the README, whose copies must match.
extract() {
    awk -v out="$WORK" -v src="$1" '
        /^<!-- file: [^ ]+ -->$/ { path = $3; next }
        path != "" && /^```csharp$/ { file = out "/" path ".from-" src_tag; printf "" > file; capturing = 1; next }
        capturing && /^```$/ { close(file); print path; capturing = 0; path = ""; next }
        capturing { print >> file; next }
        { path = "" }
    ' src_tag="$2" "$1"
}
count=0
while IFS= read -r path; do
    mv "$WORK/$path.from-page" "$WORK/$path"; count=$((count + 1))
done < <(extract docs/getting-started.md page)
[ "$count" -ge 4 ] || fail "docs/getting-started.md has $count marked code blocks; expected the app and its tests"
readme=0
while IFS= read -r path; do
    if [ -f "$WORK/$path" ]; then
        cmp -s "$WORK/$path" "$WORK/$path.from-readme" || { diff "$WORK/$path" "$WORK/$path.from-readme" >&2 || true; fail "README.md's $path differs from docs/getting-started.md's"; }
        rm -f "$WORK/$path.from-readme"
    else
        mv "$WORK/$path.from-readme" "$WORK/$path"
    fi
    readme=$((readme + 1))
done < <(extract README.md readme)
[ -f "$WORK/QuickStart/Program.cs" ] || fail "README.md has no code block marked QuickStart/Program.cs (the quick start)"
echo "consumer: $count files from docs/getting-started.md, $readme from README.md; packages $VERSION from $FEED"

stage_start="$(date +%s.%N)"
stage() { local t; t="$(date +%s.%N)"; awk -v a="$stage_start" -v b="$t" -v s="$1" 'BEGIN { printf "consumer: %s took %.1f s\n", s, b - a }'; stage_start="$t"; }

cd "$WORK"
dotnet restore Consumer.slnx </dev/null
stage restore
dotnet build Consumer.slnx -c Release --no-restore </dev/null
stage build
out="$(dotnet QuickStart/bin/Release/net10.0/QuickStart.dll </dev/null)" || fail "the README quick start failed"
echo "$out"
grep -q "^order/.* version 1: order.placed" <<<"$out" || fail "the README quick start did not print its event"
out="$(dotnet Shop/bin/Release/net10.0/Shop.dll </dev/null)" || fail "the Shop app failed"
echo "$out"
grep -q "^Order .*: total 15" <<<"$out" || fail "the Shop app did not print the order's total of 15"
stage "running QuickStart and Shop"
server="${SHOP_TEST_POSTGRES:-${EVENTSOURCING_TEST_POSTGRES:-}}"
[ -n "$server" ] || fail "set SHOP_TEST_POSTGRES or EVENTSOURCING_TEST_POSTGRES for the database test"
SHOP_TEST_POSTGRES="$server" dotnet test Shop.Tests/Shop.Tests.csproj -c Release --no-build </dev/null | tee "$WORK/test.log"
grep -Eq "^Passed! +- Failed: +0, Passed: +4, Skipped: +0" "$WORK/test.log" || fail "Shop.Tests did not pass all 4 tests"
stage "dotnet test Shop.Tests"
echo "consumer: passed"
