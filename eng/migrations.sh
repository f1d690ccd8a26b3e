#!/usr/bin/env bash
# Regenerates the reference migrations and the idempotent SQL script in migrations/.
#
#   eng/migrations.sh
#
# Deletes migrations/Migrations and re-adds the reference DbContext's two migrations with `dotnet ef migrations add`
# (the dotnet-ef tool pinned in .config/dotnet-tools.json): InitialCreate, the application before it adopted the
# library (its design-time factory leaves the event store out), then AddEventStore, exactly what a user gets from
# `dotnet ef migrations add AddEventStore`. Then rewrites migrations/idempotent.sql with
# `dotnet ef migrations script --idempotent`. Also re-adds the BankLedger demo's migration. No command connects to a database. Run it after the event store
# model changes (new tables, columns, indexes), then build and run the PostgreSQL tests: they apply the migrations
# and the script to empty databases and compare the result with the model.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly PROJECT="migrations/EventSourcing.EFCore.Reference.csproj"
readonly SCRIPT="migrations/idempotent.sql"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export MSBUILDDISABLENODEREUSE=1

dotnet tool restore </dev/null
rm -rf migrations/Migrations
dotnet restore "$PROJECT" </dev/null
EVENTSOURCING_REFERENCE_BEFORE_EVENT_STORE=1 \
dotnet tool run dotnet-ef migrations add InitialCreate --project "$PROJECT" --startup-project "$PROJECT" \
    --configuration Release --output-dir Migrations </dev/null
dotnet tool run dotnet-ef migrations add AddEventStore --project "$PROJECT" --startup-project "$PROJECT" \
    --configuration Release --output-dir Migrations </dev/null
dotnet tool run dotnet-ef migrations script --idempotent --project "$PROJECT" --startup-project "$PROJECT" \
    --configuration Release --output "$SCRIPT" </dev/null

# The demo's own context (samples/BankLedger applies its migrations with --postgres).
readonly SAMPLE="samples/BankLedger/BankLedger.csproj"
rm -rf samples/BankLedger/Migrations
dotnet restore "$SAMPLE" </dev/null
dotnet tool run dotnet-ef migrations add CreateLedger --project "$SAMPLE" --startup-project "$SAMPLE" \
    --configuration Release --output-dir Migrations </dev/null
echo "eng/migrations.sh: wrote migrations/Migrations (InitialCreate, AddEventStore), $SCRIPT and samples/BankLedger/Migrations"
