using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Storage.Migrations
{
    /// <summary>
    /// Tenants (a <c>tenant</c> column on both tables, with row-level security), the call beside each completion
    /// (<c>call_*</c> columns), a per-day usage rollup kept by triggers, and lz4 for contents. Adding the columns rewrites
    /// nothing (their defaults are constants); the backfill of the rollup reads the table once.
    /// </summary>
    public partial class TenantsCallsAndUsageRollup : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

            migrationBuilder.AddColumn<TimeSpan>(
                name: "call_latency",
                table: "chat_completions",
                type: "interval",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "call_request",
                table: "chat_completions",
                type: "jsonb",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "call_span_id",
                table: "chat_completions",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "call_started_at",
                table: "chat_completions",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<TimeSpan>(
                name: "call_time_to_first_token",
                table: "chat_completions",
                type: "interval",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "call_trace_id",
                table: "chat_completions",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "tenant",
                table: "chat_completions",
                type: "text",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "tenant",
                table: "chat_completion_choices",
                type: "text",
                nullable: false,
                defaultValue: "");

            UsageRollup(migrationBuilder);
            RowLevelSecurity(migrationBuilder);
            Lz4Compression(migrationBuilder);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql($"""
                DROP POLICY IF EXISTS tenant_isolation ON {UsageTable};
                DROP POLICY IF EXISTS tenant_isolation ON chat_completion_choices;
                DROP POLICY IF EXISTS tenant_isolation ON chat_completions;
                ALTER TABLE chat_completion_choices DISABLE ROW LEVEL SECURITY;
                ALTER TABLE chat_completions DISABLE ROW LEVEL SECURITY;
                DROP TRIGGER IF EXISTS storage_usage_daily_truncate ON chat_completions;
                DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
                DROP TRIGGER IF EXISTS storage_usage_daily_delete ON chat_completions;
                DROP TRIGGER IF EXISTS storage_usage_daily_insert ON chat_completions;
                DROP FUNCTION IF EXISTS storage_usage_daily_truncate();
                DROP FUNCTION IF EXISTS storage_usage_daily_apply();
                DROP TABLE IF EXISTS {UsageTable};
                """);

            migrationBuilder.DropColumn(
                name: "call_latency",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "call_request",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "call_span_id",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "call_started_at",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "call_time_to_first_token",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "call_trace_id",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "tenant",
                table: "chat_completions");

            migrationBuilder.DropColumn(
                name: "tenant",
                table: "chat_completion_choices");

        }

        /// <summary>
        /// Token totals per tenant, UTC day and model, kept by statement-level triggers from the rows each statement
        /// actually inserted, deleted or changed (transition tables). They run in the writer's transaction, so a batch
        /// that rolls back takes its increments with it, and a retried batch whose rows already exist (ON CONFLICT DO
        /// NOTHING) inserts nothing and adds nothing: totals are never counted twice. Rows are upserted in key order,
        /// so concurrent writers lock them in one order and cannot deadlock on them. The functions run as their owner
        /// (the migration role), so the application role needs no write access to the totals.
        /// </summary>
        private static void UsageRollup(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql($"""
                CREATE TABLE IF NOT EXISTS {UsageTable} (
                    tenant text NOT NULL,
                    day date NOT NULL,
                    model text NOT NULL,
                    completions bigint NOT NULL,
                    prompt_tokens numeric NOT NULL,
                    completion_tokens numeric NOT NULL,
                    total_tokens numeric NOT NULL,
                    cached_tokens numeric NOT NULL,
                    reasoning_tokens numeric NOT NULL,
                    CONSTRAINT pk_{UsageTable} PRIMARY KEY (tenant, day, model));
                """);

            // Only the triggers' functions, which run as the owner, write the totals: write privileges that default
            // privileges handed out on the new table (the README's application role gets them) are taken back, so a role
            // that may write completions still cannot forge their totals.
            migrationBuilder.Sql($"""
                DO $grants$
                DECLARE
                    grantee text;
                BEGIN
                    FOR grantee IN
                        SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
                        WHERE g.table_schema = current_schema() AND g.table_name = '{UsageTable}'
                            AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
                            AND g.grantee NOT IN (current_user, 'PUBLIC')
                    LOOP
                        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {UsageTable} FROM %I', grantee);
                    END LOOP;
                END
                $grants$;
                """);

            // Rows that exist before the triggers do are summed once, here.
            migrationBuilder.Sql($"""
                INSERT INTO {UsageTable} (tenant, day, model, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens)
                SELECT tenant, day, model, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens)
                FROM ({Delta("chat_completions", 1)}) AS existing
                GROUP BY tenant, day, model
                ON CONFLICT (tenant, day, model) DO NOTHING;
                """);

            migrationBuilder.Sql($"""
                CREATE OR REPLACE FUNCTION storage_usage_daily_apply() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        WITH delta AS ({Delta("new_rows", 1)}) {Upsert};
                    ELSIF TG_OP = 'DELETE' THEN
                        WITH delta AS ({Delta("old_rows", -1)}) {Upsert};
                    ELSE
                        WITH delta AS ({Delta("new_rows", 1)} UNION ALL {Delta("old_rows", -1)}) {Upsert};
                    END IF;
                    RETURN NULL;
                END
                $fn$;
                """);

            migrationBuilder.Sql($"""
                CREATE OR REPLACE FUNCTION storage_usage_daily_truncate() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
                BEGIN
                    DELETE FROM {UsageTable};
                    RETURN NULL;
                END
                $fn$;
                """);

            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS storage_usage_daily_insert ON chat_completions;
                CREATE TRIGGER storage_usage_daily_insert AFTER INSERT ON chat_completions
                    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_usage_daily_apply();
                DROP TRIGGER IF EXISTS storage_usage_daily_delete ON chat_completions;
                CREATE TRIGGER storage_usage_daily_delete AFTER DELETE ON chat_completions
                    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_usage_daily_apply();
                DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
                CREATE TRIGGER storage_usage_daily_update AFTER UPDATE ON chat_completions
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_usage_daily_apply();
                DROP TRIGGER IF EXISTS storage_usage_daily_truncate ON chat_completions;
                CREATE TRIGGER storage_usage_daily_truncate AFTER TRUNCATE ON chat_completions
                    FOR EACH STATEMENT EXECUTE FUNCTION storage_usage_daily_truncate();
                """);
        }

        /// <summary>
        /// Row-level security: a role that neither owns the tables nor bypasses RLS (the application role of the README)
        /// sees and writes only the rows of the tenant its session names in <c>storage.tenant</c>; an unset tenant is the
        /// unscoped tenant "". A scoped store sets it on every connection it opens; Npgsql's pool resets it on return.
        /// </summary>
        private static void RowLevelSecurity(MigrationBuilder migrationBuilder)
        {
            foreach (var table in new[] { "chat_completions", "chat_completion_choices", UsageTable })
            {
                migrationBuilder.Sql($"""
                    ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                    DROP POLICY IF EXISTS tenant_isolation ON {table};
                    CREATE POLICY tenant_isolation ON {table}
                        USING (tenant = coalesce(current_setting('storage.tenant', true), ''))
                        WITH CHECK (tenant = coalesce(current_setting('storage.tenant', true), ''));
                    """);
            }
        }

        /// <summary>
        /// lz4 for the columns that hold contents: it compresses and decompresses several times faster than the default
        /// pglz for a similar size. Only where the server was built with lz4 (PostgreSQL 14+ with --with-lz4, as the
        /// Debian and Docker builds are); elsewhere the columns keep pglz.
        /// </summary>
        private static void Lz4Compression(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql("""
                DO $lz4$
                BEGIN
                    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
                        ALTER TABLE chat_completion_choices
                            ALTER COLUMN message_content SET COMPRESSION lz4,
                            ALTER COLUMN message_content_parts SET COMPRESSION lz4,
                            ALTER COLUMN message_tool_calls SET COMPRESSION lz4,
                            ALTER COLUMN message_reasoning SET COMPRESSION lz4,
                            ALTER COLUMN message_reasoning_content SET COMPRESSION lz4,
                            ALTER COLUMN logprobs SET COMPRESSION lz4;
                        ALTER TABLE chat_completions ALTER COLUMN call_request SET COMPRESSION lz4;
                    END IF;
                END
                $lz4$;
                """);

        private const string UsageTable = "chat_completion_usage_daily";

        private const string Upsert = $"""
            INSERT INTO {UsageTable} AS d (tenant, day, model, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens)
            SELECT tenant, day, model, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens)
            FROM delta
            GROUP BY tenant, day, model
            HAVING sum(completions) <> 0 OR sum(prompt_tokens) <> 0 OR sum(completion_tokens) <> 0 OR sum(total_tokens) <> 0
                OR sum(cached_tokens) <> 0 OR sum(reasoning_tokens) <> 0
            ORDER BY tenant, day, model
            ON CONFLICT (tenant, day, model) DO UPDATE SET
                completions = d.completions + excluded.completions,
                prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
                completion_tokens = d.completion_tokens + excluded.completion_tokens,
                total_tokens = d.total_tokens + excluded.total_tokens,
                cached_tokens = d.cached_tokens + excluded.cached_tokens,
                reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens
            """;

        // One completion's contribution, signed; the cached and reasoning counts are summed like the usage query does:
        // only JSON numbers count.
        private static string Delta(string source, int sign) => $"""
            SELECT tenant, (created AT TIME ZONE 'UTC')::date AS day, model, {sign} AS completions,
                {sign} * coalesce(usage_prompt_tokens, 0)::numeric AS prompt_tokens,
                {sign} * coalesce(usage_completion_tokens, 0)::numeric AS completion_tokens,
                {sign} * coalesce(usage_total_tokens, 0)::numeric AS total_tokens,
                {sign} * CASE WHEN jsonb_typeof(usage_prompt_tokens_details -> 'cached_tokens') = 'number'
                    THEN (usage_prompt_tokens_details ->> 'cached_tokens')::numeric ELSE 0 END AS cached_tokens,
                {sign} * CASE WHEN jsonb_typeof(usage_completion_tokens_details -> 'reasoning_tokens') = 'number'
                    THEN (usage_completion_tokens_details ->> 'reasoning_tokens')::numeric ELSE 0 END AS reasoning_tokens
            FROM {source}
            """;
    }
}
