using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace EventSourcing.EFCore.Reference.Migrations
{
    /// <inheritdoc />
    public partial class AddEventStore : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "es_checkpoints",
                columns: table => new
                {
                    projection = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    position = table.Column<long>(type: "bigint", nullable: false),
                    tx_id = table.Column<ulong>(type: "xid8", nullable: false),
                    system_identifier = table.Column<long>(type: "bigint", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_es_checkpoints", x => x.projection);
                });

            migrationBuilder.CreateTable(
                name: "es_events",
                columns: table => new
                {
                    global_position = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    stream_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    stream_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    sequence = table.Column<long>(type: "bigint", nullable: false),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    event_type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    event_version = table.Column<int>(type: "integer", nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    metadata = table.Column<string>(type: "jsonb", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    tx_id = table.Column<ulong>(type: "xid8", nullable: false, defaultValueSql: "pg_current_xact_id()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_es_events", x => x.global_position);
                })
                .Annotation("EventSourcing:StreamGuard", "[\"2\",\"stream_type\",\"stream_id\",\"sequence\",\"tx_id\"]");

            migrationBuilder.CreateTable(
                name: "es_outbox",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    destination = table.Column<string>(type: "text", nullable: false),
                    event_type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    stream_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    stream_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    stream_version = table.Column<long>(type: "bigint", nullable: false),
                    payload = table.Column<string>(type: "jsonb", nullable: false),
                    headers = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    dead_lettered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    lease_owner = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    lease_expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_es_outbox", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "es_projection_dead_letters",
                columns: table => new
                {
                    projection = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    global_position = table.Column<long>(type: "bigint", nullable: false),
                    tx_id = table.Column<ulong>(type: "xid8", nullable: false),
                    stream_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    stream_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    event_id = table.Column<Guid>(type: "uuid", nullable: false),
                    event_type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    error_type = table.Column<string>(type: "text", nullable: false),
                    error = table.Column<string>(type: "text", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    failed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_es_projection_dead_letters", x => new { x.projection, x.global_position });
                });

            migrationBuilder.CreateTable(
                name: "es_snapshots",
                columns: table => new
                {
                    stream_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    stream_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    version = table.Column<long>(type: "bigint", nullable: false),
                    snapshot_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false),
                    schema_version = table.Column<int>(type: "integer", nullable: false),
                    fingerprint = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    state = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_es_snapshots", x => new { x.stream_type, x.stream_id, x.version });
                });

            migrationBuilder.CreateIndex(
                name: "ix_es_events_tx_position",
                table: "es_events",
                columns: new[] { "tx_id", "global_position" });

            migrationBuilder.CreateIndex(
                name: "ux_es_events_event_id",
                table: "es_events",
                column: "event_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ux_es_events_stream",
                table: "es_events",
                columns: new[] { "stream_type", "stream_id", "sequence" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_es_outbox_dead_letters",
                table: "es_outbox",
                column: "event_id",
                filter: "dead_lettered_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_es_outbox_pending",
                table: "es_outbox",
                column: "id",
                filter: "dispatched_at IS NULL AND dead_lettered_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_es_outbox_pending_stream",
                table: "es_outbox",
                columns: new[] { "stream_type", "stream_id", "stream_version" },
                filter: "dispatched_at IS NULL AND dead_lettered_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "es_checkpoints");

            migrationBuilder.DropTable(
                name: "es_events")
                .Annotation("EventSourcing:StreamGuard", "[\"2\",\"stream_type\",\"stream_id\",\"sequence\",\"tx_id\"]");

            migrationBuilder.DropTable(
                name: "es_outbox");

            migrationBuilder.DropTable(
                name: "es_projection_dead_letters");

            migrationBuilder.DropTable(
                name: "es_snapshots");
        }
    }
}
