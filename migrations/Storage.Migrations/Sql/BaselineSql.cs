namespace Storage.Migrations.Sql;

/// <summary>
/// The hand-written part of the <c>Baseline</c> migration: what EF's model cannot say. A frozen snapshot like the
/// migration itself: a later migration that changes one of these objects carries its own SQL, never a call to this.
/// Every object is created in the schema the migration runs in; the functions that run as their owner
/// (<c>SECURITY DEFINER</c>) pin <c>search_path</c> to <c>pg_catalog</c>, that schema and <c>pg_temp</c> last, and
/// name every table with its schema, so no object a caller creates (a temporary table, a function in a schema of its
/// own) can stand in for one of ours.
/// </summary>
internal static class BaselineSql
{
    private const string Rollup = "chat_completion_usage_daily";

    /// <summary>The statements, in order. Each is idempotent, as the idempotent script wants.</summary>
    public static IReadOnlyList<string> Up { get; } =
    [
        // One completion's token counts, as the usage query and the rollup's triggers both read them: only JSON numbers
        // count, so a malformed vendor value cannot fail a report. A one-line SQL function the planner inlines.
        """
        CREATE OR REPLACE FUNCTION storage_token_count(details jsonb, name text) RETURNS numeric
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE WHEN jsonb_typeof(details -> name) = 'number' THEN (details ->> name)::numeric ELSE 0 END;
        """,

        // Token totals per tenant, UTC day, model and stripe. A stripe is the backend (pg_backend_pid()) whose
        // statement wrote the row, so two sessions never wait on one another's totals: each upserts only its own row,
        // and a session runs one transaction at a time. Readers sum the stripes. storage_compact_usage() folds the
        // stripes of past days into stripe 0.
        $"""
        CREATE TABLE IF NOT EXISTS {Rollup} (
            tenant text NOT NULL,
            day date NOT NULL,
            model text NOT NULL,
            stripe integer NOT NULL,
            completions bigint NOT NULL,
            prompt_tokens numeric NOT NULL,
            completion_tokens numeric NOT NULL,
            total_tokens numeric NOT NULL,
            cached_tokens numeric NOT NULL,
            reasoning_tokens numeric NOT NULL,
            cost numeric NOT NULL,
            unpriced bigint NOT NULL,
            CONSTRAINT pk_{Rollup} PRIMARY KEY (tenant, day, model, stripe));
        """,

        // The key the application signs tenant claims with (see storage_current_tenant). Nobody but the owner reads it.
        """
        CREATE TABLE IF NOT EXISTS storage_tenant_key (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            key bytea NOT NULL CHECK (length(key) >= 32));
        """,

        // Write privileges that default privileges handed out on these tables (the README's application role gets
        // them) are taken back: only the owner's functions write the totals, and nobody else sees the key.
        $"""
        DO $grants$
        DECLARE
            grant_row record;
        BEGIN
            FOR grant_row IN
                SELECT DISTINCT g.grantee, g.table_name FROM information_schema.role_table_grants g
                WHERE g.table_schema = current_schema() AND g.grantee NOT IN (current_user, 'PUBLIC')
                    AND ((g.table_name = '{Rollup}' AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))
                        OR g.table_name = 'storage_tenant_key')
            LOOP
                IF grant_row.table_name = 'storage_tenant_key' THEN
                    EXECUTE format('REVOKE ALL ON %I.storage_tenant_key FROM %I', current_schema(), grant_row.grantee);
                ELSE
                    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.{Rollup} FROM %I', current_schema(), grant_row.grantee);
                END IF;
            END LOOP;
            EXECUTE format('REVOKE ALL ON %I.storage_tenant_key FROM PUBLIC', current_schema());
        END
        $grants$;
        """,

        // HMAC-SHA256 (RFC 2104) on the built-in sha256, so no extension is needed; equal to .NET's HMACSHA256.
        """
        CREATE OR REPLACE FUNCTION storage_hmac_sha256(key bytea, message bytea) RETURNS bytea
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            k bytea := CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END;
            inner_pad bytea;
            outer_pad bytea;
        BEGIN
            k := k || decode(repeat('00', 64 - length(k)), 'hex');
            inner_pad := k;
            outer_pad := k;
            FOR i IN 0..63 LOOP
                inner_pad := set_byte(inner_pad, i, get_byte(k, i) # 54);
                outer_pad := set_byte(outer_pad, i, get_byte(k, i) # 92);
            END LOOP;
            RETURN sha256(outer_pad || sha256(inner_pad || message));
        END
        $fn$;
        """,

        // The tenant the session may act for, which every row-level security policy checks. Without a key it is the
        // claim in storage.tenant ("" when unset): that keeps a bug or a pooled connection from crossing tenants, but
        // any SQL the role runs can claim another tenant. With a key (storage_set_tenant_key), a claim counts only when
        // storage.tenant_proof holds its HMAC, which the application computes with the same key: SQL run as the
        // application role cannot forge a claim for a tenant it was not given. Otherwise it is NULL, and no row matches.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_current_tenant() RETURNS text
                LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                DECLARE
                    claimed text := coalesce(current_setting('storage.tenant', true), '');
                    signing_key bytea;
                BEGIN
                    SELECT k.key INTO signing_key FROM %1$I.storage_tenant_key AS k;
                    IF signing_key IS NULL THEN
                        RETURN claimed;
                    END IF;
                    IF coalesce(current_setting('storage.tenant_proof', true), '')
                        = encode(%1$I.storage_hmac_sha256(signing_key, convert_to(claimed, 'UTF8')), 'hex') THEN
                        RETURN claimed;
                    END IF;
                    RETURN NULL;
                END
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // Installs, replaces (a key) or removes (NULL) the signing key. The owner's alone.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_set_tenant_key(key bytea) RETURNS void
                LANGUAGE sql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                    DELETE FROM %1$I.storage_tenant_key;
                    INSERT INTO %1$I.storage_tenant_key (key) SELECT key WHERE key IS NOT NULL;
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_set_tenant_key(bytea) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // Row-level security, off until a deployment turns it on: a role bound by it cannot COPY into the tables, so
        // single-tenant deployments keep the straight COPY path. The policies are there either way.
        $"""
        DO $policies$
        DECLARE
            t text;
        BEGIN
            FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Rollup}'] LOOP
                EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I.%I', current_schema(), t);
                EXECUTE format(
                    'CREATE POLICY tenant_isolation ON %1$I.%2$I USING (tenant = (SELECT %1$I.storage_current_tenant())) '
                    'WITH CHECK (tenant = (SELECT %1$I.storage_current_tenant()))', current_schema(), t);
            END LOOP;
        END
        $policies$;
        """,

        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_set_row_level_security(enabled boolean) RETURNS void
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                DECLARE
                    t text;
                BEGIN
                    FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Rollup}'] LOOP
                        EXECUTE format('ALTER TABLE %%I.%%I %%s ROW LEVEL SECURITY', '%1$s', t, CASE WHEN enabled THEN 'ENABLE' ELSE 'DISABLE' END);
                    END LOOP;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_set_row_level_security(boolean) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // The triggers that keep the rollup. They count only the rows a statement really inserted, deleted or changed
        // (transition tables), in the writer's transaction: a rollback takes its increments with it, and a replay that
        // inserts nothing adds nothing. A metadata update changes no count and writes nothing.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_usage_daily_apply() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
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
                $body$;

                CREATE OR REPLACE FUNCTION storage_usage_daily_truncate() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                BEGIN
                    DELETE FROM %1$I.{Rollup};
                    RETURN NULL;
                END
                $body$;

                CREATE OR REPLACE FUNCTION storage_compact_usage() RETURNS bigint
                LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                    WITH moved AS (
                        DELETE FROM %1$I.{Rollup} WHERE stripe <> 0 AND day < (now() AT TIME ZONE 'UTC')::date RETURNING *),
                    folded AS (
                        INSERT INTO %1$I.{Rollup} AS d (tenant, day, model, stripe, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced)
                        SELECT tenant, day, model, 0, sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)
                        FROM moved GROUP BY tenant, day, model ORDER BY tenant, day, model
                        {OnConflict}
                        RETURNING 1)
                    SELECT count(*) FROM moved;
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,

        """
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
        """,

        // Metadata sampled ten times as finely for the planner: with the default target, a pair missing from the
        // sample is estimated at a handful of rows, and a first page of that filter reads and sorts every match
        // through the GIN index instead of walking the time index (52 ms against 0.3 ms at a million completions).
        "ALTER TABLE chat_completions ALTER COLUMN metadata SET STATISTICS 1000;",

        // lz4 for the columns that hold contents, where the server was built with it (Debian's and Docker's are):
        // several times faster than pglz for a similar size.
        """
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
        """,
    ];

    /// <summary>What <see cref="Up"/> creates, dropped in reverse order.</summary>
    public static IReadOnlyList<string> Down { get; } =
    [
        """
        DROP TRIGGER IF EXISTS storage_usage_daily_truncate ON chat_completions;
        DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
        DROP TRIGGER IF EXISTS storage_usage_daily_delete ON chat_completions;
        DROP TRIGGER IF EXISTS storage_usage_daily_insert ON chat_completions;
        DROP FUNCTION IF EXISTS storage_compact_usage();
        DROP FUNCTION IF EXISTS storage_usage_daily_truncate();
        DROP FUNCTION IF EXISTS storage_usage_daily_apply();
        DROP FUNCTION IF EXISTS storage_set_row_level_security(boolean);
        DROP POLICY IF EXISTS tenant_isolation ON chat_completions;
        DROP POLICY IF EXISTS tenant_isolation ON chat_completion_choices;
        """,
        $"""
        DROP TABLE IF EXISTS {Rollup};
        DROP FUNCTION IF EXISTS storage_set_tenant_key(bytea);
        DROP FUNCTION IF EXISTS storage_current_tenant();
        DROP FUNCTION IF EXISTS storage_hmac_sha256(bytea, bytea);
        DROP TABLE IF EXISTS storage_tenant_key;
        DROP FUNCTION IF EXISTS storage_token_count(jsonb, text);
        """,
    ];

    // Rows are upserted in key order, so concurrent writers of one stripe (never two sessions) and the compaction
    // lock rows in one order and cannot deadlock.
    private const string Upsert = $"""
        INSERT INTO %1$I.{Rollup} AS d (tenant, day, model, stripe, completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced)
        SELECT tenant, day, model, pg_backend_pid(), sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)
        FROM delta
        GROUP BY tenant, day, model
        HAVING sum(completions) <> 0 OR sum(prompt_tokens) <> 0 OR sum(completion_tokens) <> 0 OR sum(total_tokens) <> 0
            OR sum(cached_tokens) <> 0 OR sum(reasoning_tokens) <> 0 OR sum(cost) <> 0 OR sum(unpriced) <> 0
        ORDER BY tenant, day, model
        {OnConflict}
        """;

    private const string OnConflict = """
        ON CONFLICT (tenant, day, model, stripe) DO UPDATE SET
            completions = d.completions + excluded.completions,
            prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = d.completion_tokens + excluded.completion_tokens,
            total_tokens = d.total_tokens + excluded.total_tokens,
            cached_tokens = d.cached_tokens + excluded.cached_tokens,
            reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
            cost = d.cost + excluded.cost,
            unpriced = d.unpriced + excluded.unpriced
        """;

    // One completion's contribution, signed.
    private static string Delta(string source, int sign) => $"""
        SELECT tenant, (created AT TIME ZONE 'UTC')::date AS day, model, {sign} AS completions,
            {sign} * coalesce(usage_prompt_tokens, 0)::numeric AS prompt_tokens,
            {sign} * coalesce(usage_completion_tokens, 0)::numeric AS completion_tokens,
            {sign} * coalesce(usage_total_tokens, 0)::numeric AS total_tokens,
            {sign} * %1$I.storage_token_count(usage_prompt_tokens_details, 'cached_tokens') AS cached_tokens,
            {sign} * %1$I.storage_token_count(usage_completion_tokens_details, 'reasoning_tokens') AS reasoning_tokens,
            {sign} * coalesce(cost, 0) AS cost,
            {sign} * (cost IS NULL)::int AS unpriced
        FROM {source}
        """;
}
