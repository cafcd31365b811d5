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

    private const string HourlyRollup = "chat_completion_usage_hourly";

    private const string Settings = "storage_partition_settings";

    /// <summary>
    /// The two tables, range-partitioned by <c>created</c>, each with a <c>DEFAULT</c> partition that holds every row no
    /// period's partition covers (a vendor's <c>created</c> of 0 or of year 9999, a month not made yet), so a write never
    /// fails for want of a partition. Run before the EF operations that index them; the EF model is that of plain tables.
    /// </summary>
    public static IReadOnlyList<string> Tables { get; } =
    [
        """
        CREATE TABLE IF NOT EXISTS chat_completions (
            created timestamp with time zone NOT NULL,
            completion_key bigint NOT NULL,
            id text NOT NULL,
            object text NOT NULL,
            model text NOT NULL,
            service_tier text,
            system_fingerprint text,
            metadata jsonb,
            content_hash bytea NOT NULL,
            cost numeric,
            cost_clamped boolean NOT NULL,
            cost_source text,
            stored_at timestamp with time zone NOT NULL DEFAULT (now()),
            tenant text NOT NULL DEFAULT '',
            call_latency interval,
            call_request jsonb,
            call_span_id text,
            call_started_at timestamp with time zone,
            call_time_to_first_token interval,
            call_trace_id text,
            usage_completion_tokens bigint,
            usage_completion_tokens_details jsonb,
            usage_prompt_tokens bigint,
            usage_prompt_tokens_details jsonb,
            usage_extras jsonb,
            usage_total_tokens bigint,
            extras jsonb,
            CONSTRAINT pk_chat_completions PRIMARY KEY (completion_key, created)
        ) PARTITION BY RANGE (created);
        """,
        """
        CREATE TABLE IF NOT EXISTS chat_completion_choices (
            index integer NOT NULL,
            completion_key bigint NOT NULL,
            created timestamp with time zone NOT NULL,
            finish_reason text,
            logprobs jsonb,
            tenant text NOT NULL DEFAULT '',
            message_annotations jsonb,
            message_audio jsonb,
            message_content_parts jsonb,
            message_content text,
            message_function_call jsonb,
            message_reasoning text,
            message_reasoning_content text,
            message_refusal text,
            message_role text,
            message_extras jsonb,
            message_tool_calls jsonb,
            extras jsonb,
            CONSTRAINT pk_chat_completion_choices PRIMARY KEY (completion_key, created, index),
            CONSTRAINT fk_chat_completion_choices_chat_completions FOREIGN KEY (completion_key, created)
                REFERENCES chat_completions (completion_key, created) ON DELETE CASCADE
        ) PARTITION BY RANGE (created);
        """,
        """
        CREATE TABLE IF NOT EXISTS chat_completions_default PARTITION OF chat_completions DEFAULT;
        CREATE TABLE IF NOT EXISTS chat_completion_choices_default PARTITION OF chat_completion_choices DEFAULT;
        """,
    ];

    /// <summary>The statements, in order, after the tables and their indexes. Each is idempotent, as the idempotent script wants.</summary>
    public static IReadOnlyList<string> Up { get; } =
    [
        // One completion's token counts, as the usage query and the rollup's triggers both read them: only JSON numbers
        // count, so a malformed vendor value cannot fail a report. A one-line SQL function the planner inlines.
        """
        CREATE OR REPLACE FUNCTION storage_token_count(details jsonb, name text) RETURNS numeric
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE WHEN jsonb_typeof(details -> name) = 'number' THEN (details ->> name)::numeric ELSE 0 END;
        """,

        // Token totals per tenant, UTC day, model and stripe, and the same per UTC hour, so that a range's totals read
        // whole days from the first, the whole hours of its edge days from the second, and rows only for the partial
        // hours at its ends. A stripe is the backend (pg_backend_pid()) whose statement wrote the row, so two sessions
        // never wait on one another's totals: each upserts only its own row, and a session runs one transaction at a
        // time. Readers sum the stripes. storage_compact_usage() folds the stripes of past days and hours into stripe 0.
        $"""
        CREATE TABLE IF NOT EXISTS {Rollup} (
            tenant text NOT NULL,
            day date NOT NULL,
            model text NOT NULL,
            stripe integer NOT NULL,
            {Totals},
            CONSTRAINT pk_{Rollup} PRIMARY KEY (tenant, day, model, stripe));
        CREATE TABLE IF NOT EXISTS {HourlyRollup} (
            tenant text NOT NULL,
            hour timestamp with time zone NOT NULL,
            model text NOT NULL,
            stripe integer NOT NULL,
            {Totals},
            CONSTRAINT pk_{HourlyRollup} PRIMARY KEY (tenant, hour, model, stripe));
        """,

        // The key the application signs tenant claims with (see storage_current_tenant). Nobody but the owner reads it.
        """
        CREATE TABLE IF NOT EXISTS storage_tenant_key (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            key bytea NOT NULL CHECK (length(key) >= 32));
        """,

        // How long a partition's period is: a day, a week, a month (the default) or a year. Changing it (as the owner:
        // UPDATE storage_partition_settings SET unit = 'week') applies to the partitions made from then on; a period
        // that an existing partition overlaps is not made, and its rows stay where they are.
        $"""
        CREATE TABLE IF NOT EXISTS {Settings} (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            unit text NOT NULL DEFAULT 'month' CHECK (unit IN ('day', 'week', 'month', 'year')));
        INSERT INTO {Settings} (only_row) VALUES (true) ON CONFLICT DO NOTHING;
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
                    AND ((g.table_name IN ('{Rollup}', '{HourlyRollup}', '{Settings}') AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))
                        OR g.table_name = 'storage_tenant_key')
            LOOP
                IF grant_row.table_name = 'storage_tenant_key' THEN
                    EXECUTE format('REVOKE ALL ON %I.storage_tenant_key FROM %I', current_schema(), grant_row.grantee);
                ELSE
                    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', current_schema(), grant_row.table_name, grant_row.grantee);
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

        // How a connection states the tenant it acts for (the library's TenantSql): the claim and its proof, for the
        // session. Returns whether the claim must be stated again in every transaction: not here, where a session
        // setting holds for every statement; on Citus (CitusSql redefines it) the workers see only transaction-scoped
        // settings. Any role may call it: it sets nothing a role could not set with set_config.
        """
        CREATE OR REPLACE FUNCTION storage_claim_tenant(tenant text, proof text) RETURNS boolean
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
        BEGIN
            PERFORM set_config('storage.tenant', tenant, false), set_config('storage.tenant_proof', proof, false);
            RETURN false;
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
            FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Rollup}', '{HourlyRollup}'] LOOP
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
                    FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Rollup}', '{HourlyRollup}'] LOOP
                        EXECUTE format('ALTER TABLE %%I.%%I %%s ROW LEVEL SECURITY', '%1$s', t, CASE WHEN enabled THEN 'ENABLE' ELSE 'DISABLE' END);
                    END LOOP;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_set_row_level_security(boolean) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // The triggers that keep the rollup. They count only the rows a statement really inserted or changed (transition
        // tables), in the writer's transaction: a rollback takes its increments with it, and a replay that inserts
        // nothing adds nothing. A metadata update changes no count and writes nothing. The totals are a record of what
        // was stored and used: deleting rows (one completion, retention, a dropped partition, TRUNCATE) leaves them as
        // they are, so there is no DELETE or TRUNCATE trigger. Statement triggers on the parents do not fire for a
        // statement that names a partition, which is how storage_create_partition moves rows without counting them.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_usage_daily_apply() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        WITH delta AS ({Delta("new_rows", 1)}), {Upserts};
                    ELSE
                        WITH delta AS ({Delta("new_rows", 1)} UNION ALL {Delta("old_rows", -1)}), {Upserts};
                    END IF;
                    RETURN NULL;
                END
                $body$;
                DROP FUNCTION IF EXISTS %1$I.storage_usage_daily_truncate();

                CREATE OR REPLACE FUNCTION storage_compact_usage() RETURNS bigint
                LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                    WITH moved_days AS (
                        DELETE FROM %1$I.{Rollup} WHERE stripe <> 0 AND day < (now() AT TIME ZONE 'UTC')::date RETURNING *),
                    folded_days AS (
                        INSERT INTO %1$I.{Rollup} AS d (tenant, day, model, stripe, {TotalNames})
                        SELECT tenant, day, model, 0, {TotalSums}
                        FROM moved_days GROUP BY tenant, day, model ORDER BY tenant, day, model
                        {OnConflict("day")}
                        RETURNING 1),
                    moved_hours AS (
                        DELETE FROM %1$I.{HourlyRollup} WHERE stripe <> 0 AND hour < {HourOf("now()")} RETURNING *),
                    folded_hours AS (
                        INSERT INTO %1$I.{HourlyRollup} AS d (tenant, hour, model, stripe, {TotalNames})
                        SELECT tenant, hour, model, 0, {TotalSums}
                        FROM moved_hours GROUP BY tenant, hour, model ORDER BY tenant, hour, model
                        {OnConflict("hour")}
                        RETURNING 1)
                    SELECT (SELECT count(*) FROM moved_days) + (SELECT count(*) FROM moved_hours);
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
        DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
        CREATE TRIGGER storage_usage_daily_update AFTER UPDATE ON chat_completions
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION storage_usage_daily_apply();
        DROP TRIGGER IF EXISTS storage_usage_daily_truncate ON chat_completions;
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
                -- Compression is not passed down to existing partitions; new ones copy it (storage_create_partition).
                ALTER TABLE chat_completion_choices_default
                    ALTER COLUMN message_content SET COMPRESSION lz4,
                    ALTER COLUMN message_content_parts SET COMPRESSION lz4,
                    ALTER COLUMN message_tool_calls SET COMPRESSION lz4,
                    ALTER COLUMN message_reasoning SET COMPRESSION lz4,
                    ALTER COLUMN message_reasoning_content SET COMPRESSION lz4,
                    ALTER COLUMN logprobs SET COMPRESSION lz4;
                ALTER TABLE chat_completions_default ALTER COLUMN call_request SET COMPRESSION lz4;
            END IF;
        END
        $lz4$;
        """,
        // The partitions of both tables: bounds (NULL for the default partition), the planner's row estimate (NULL until
        // the partition was first analyzed) and bytes with indexes and TOAST. Catalog reads only, so any role may call it.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_partitions()
                RETURNS TABLE (parent text, partition text, range_from timestamptz, range_to timestamptz, is_default boolean,
                    estimated_rows bigint, total_bytes bigint)
                LANGUAGE sql STABLE SET search_path = pg_catalog, %1$I, pg_temp SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO' AS $body$
                    SELECT p.relname::text, c.relname::text, b.bounds[1]::timestamptz, b.bounds[2]::timestamptz, b.expr = 'DEFAULT',
                        CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END, pg_total_relation_size(c.oid)
                    FROM pg_inherits AS i
                    JOIN pg_class AS p ON p.oid = i.inhparent
                    JOIN pg_class AS c ON c.oid = i.inhrelid
                    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) AS e
                    CROSS JOIN LATERAL (SELECT e.expr, regexp_match(e.expr, 'FROM \(''([^'']*)''\) TO \(''([^'']*)''\)') AS bounds) AS b
                    WHERE p.relnamespace = (SELECT n.oid FROM pg_namespace AS n WHERE n.nspname = %1$L)
                        AND p.relname IN ('chat_completions', 'chat_completion_choices')
                    ORDER BY 1, 3 NULLS LAST, 2;
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // A partition is the owner's alone: reached through its parent, row-level security and the parent's privileges
        // apply; named directly, neither would, so no other role keeps a privilege on it (default privileges give some).
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_seal_partition(partition_name text) RETURNS void
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                DECLARE
                    grantee_name text;
                BEGIN
                    EXECUTE format('REVOKE ALL ON %%I.%%I FROM PUBLIC', %1$L, partition_name);
                    FOR grantee_name IN
                        SELECT DISTINCT pg_get_userbyid(a.grantee)
                        FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
                        WHERE c.relname = partition_name AND c.relnamespace = (SELECT n.oid FROM pg_namespace AS n WHERE n.nspname = %1$L)
                            AND a.grantee <> c.relowner AND a.grantee <> 0
                    LOOP
                        EXECUTE format('REVOKE ALL ON %%I.%%I FROM %%I', %1$L, partition_name, grantee_name);
                    END LOOP;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_seal_partition(text) FROM PUBLIC;
                SELECT %1$I.storage_seal_partition('chat_completions_default');
                SELECT %1$I.storage_seal_partition('chat_completion_choices_default');
                $sql$, current_schema());
        END
        $fn$;
        """,

        // Makes the partitions of one period for both tables, unless a partition already overlaps it. Rows of the period
        // that the default partition holds are moved into them first (choices first: deleting a completion would
        // cascade to its choices), by statements that name partitions, so the rollup's triggers on the parents do not
        // count them again. Both parents are locked for the few milliseconds it takes: writers wait, none fails, and a
        // writer that waited routes its rows with the new partition in place. Called by the two functions below only.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_create_partition(period_start timestamptz, period_end timestamptz) RETURNS boolean
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO' AS $body$
                DECLARE
                    suffix text := to_char(period_start, 'YYYYMMDD');
                    completions_name text := 'chat_completions_p' || suffix;
                    choices_name text := 'chat_completion_choices_p' || suffix;
                BEGIN
                    LOCK TABLE %1$I.chat_completions, %1$I.chat_completion_choices IN ACCESS EXCLUSIVE MODE;
                    IF EXISTS (SELECT FROM %1$I.storage_partitions() AS p
                            WHERE NOT p.is_default AND p.range_from < period_end AND p.range_to > period_start)
                        OR to_regclass(format('%%I.%%I', %1$L, completions_name)) IS NOT NULL
                        OR to_regclass(format('%%I.%%I', %1$L, choices_name)) IS NOT NULL THEN
                        RETURN false;
                    END IF;
                    EXECUTE format('CREATE TABLE %%1$I.%%2$I (LIKE %%1$I.chat_completions INCLUDING DEFAULTS INCLUDING COMPRESSION)', %1$L, completions_name);
                    EXECUTE format('CREATE TABLE %%1$I.%%2$I (LIKE %%1$I.chat_completion_choices INCLUDING DEFAULTS INCLUDING COMPRESSION)', %1$L, choices_name);
                    EXECUTE format('ALTER TABLE %%1$I.%%2$I ALTER COLUMN metadata SET STATISTICS 1000', %1$L, completions_name);
                    EXECUTE format(
                        'WITH moved AS (DELETE FROM %%1$I.chat_completion_choices_default WHERE created >= $1 AND created < $2 RETURNING *) '
                        'INSERT INTO %%1$I.%%2$I SELECT * FROM moved', %1$L, choices_name) USING period_start, period_end;
                    EXECUTE format(
                        'WITH moved AS (DELETE FROM %%1$I.chat_completions_default WHERE created >= $1 AND created < $2 RETURNING *) '
                        'INSERT INTO %%1$I.%%2$I SELECT * FROM moved', %1$L, completions_name) USING period_start, period_end;
                    EXECUTE format('ALTER TABLE %%1$I.chat_completions ATTACH PARTITION %%1$I.%%2$I FOR VALUES FROM (%%3$L) TO (%%4$L)',
                        %1$L, completions_name, period_start, period_end);
                    EXECUTE format('ALTER TABLE %%1$I.chat_completion_choices ATTACH PARTITION %%1$I.%%2$I FOR VALUES FROM (%%3$L) TO (%%4$L)',
                        %1$L, choices_name, period_start, period_end);
                    PERFORM %1$I.storage_seal_partition(completions_name);
                    PERFORM %1$I.storage_seal_partition(choices_name);
                    RETURN true;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_create_partition(timestamptz, timestamptz) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // What a scheduler calls (pg_cron: SELECT cron.schedule('storage-partitions', '0 * * * *',
        // 'SELECT storage_ensure_partitions(3)')), and the library, the storage command and the hosted service too:
        // the partitions of the current period through months_ahead months from now, and of every earlier period the
        // default partition holds rows of (an import of old completions), so retention can drop them later. Periods
        // beyond that (a created of year 9999) stay in the default partition. Any role that may insert completions
        // may call it; it runs as the owner. Returns how many periods it made.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_ensure_partitions(months_ahead integer DEFAULT 3) RETURNS integer
                LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, %1$I, pg_temp SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO' SET lock_timeout = '10s' AS $body$
                DECLARE
                    period_unit text;
                    step interval;
                    period timestamptz;
                    made integer := 0;
                BEGIN
                    IF NOT has_table_privilege(session_user, format('%%I.chat_completions', %1$L), 'INSERT') THEN
                        RAISE EXCEPTION 'permission denied: storage_ensure_partitions needs INSERT on chat_completions' USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
                        RAISE EXCEPTION 'months_ahead must be from 0 to 120, not %%', months_ahead USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    SELECT s.unit INTO period_unit FROM %1$I.{Settings} AS s;
                    period_unit := coalesce(period_unit, 'month');
                    step := ('1 ' || period_unit)::interval;
                    FOR period IN
                        SELECT g.period FROM generate_series(
                            date_trunc(period_unit, now()), date_trunc(period_unit, now() + make_interval(months => months_ahead)), step) AS g (period)
                        UNION
                        SELECT DISTINCT date_trunc(period_unit, d.created) FROM %1$I.chat_completions_default AS d
                        WHERE d.created < date_trunc(period_unit, now())
                        ORDER BY 1
                    LOOP
                        IF NOT EXISTS (SELECT FROM %1$I.storage_partitions() AS p
                                WHERE NOT p.is_default AND p.range_from < period + step AND p.range_to > period)
                            AND %1$I.storage_create_partition(period, period + step) THEN
                            made := made + 1;
                        END IF;
                    END LOOP;
                    RETURN made;
                END
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // Retention by partition: drops the partitions that lie wholly in [not_before, cutoff), and in the past (the
        // partitions made ahead stay even for a cutoff in the future), and hold only rows of the caller's tenant (storage_current_tenant(), so row-level security's rule holds for a drop too), the choices'
        // partition first, then the completions' one, detached (the foreign key forbids dropping it attached). The disk
        // is returned at once; the usage totals stay. Rows are counted under a SHARE lock of their partition (writers of
        // other partitions go on), then both parents are locked for the drops. When a lock is not had within 5 s, or a
        // deadlock is detected, nothing is dropped and 0 is returned: the caller deletes those rows one by one instead.
        // Returns how many completions the dropped partitions held. Any role that may delete completions may call it.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_drop_partitions_before(cutoff timestamptz, not_before timestamptz DEFAULT '-infinity')
                RETURNS bigint
                LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, %1$I, pg_temp SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO' SET lock_timeout = '5s' AS $body$
                DECLARE
                    claimed text := %1$I.storage_current_tenant();
                    target record;
                    others boolean;
                    counted bigint;
                    dropped bigint := 0;
                    completions_names text[] := ARRAY[]::text[];
                    choices_names text[] := ARRAY[]::text[];
                BEGIN
                    IF NOT has_table_privilege(session_user, format('%%I.chat_completions', %1$L), 'DELETE') THEN
                        RAISE EXCEPTION 'permission denied: storage_drop_partitions_before needs DELETE on chat_completions' USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    IF claimed IS NULL OR cutoff IS NULL OR not_before IS NULL THEN
                        RETURN 0;
                    END IF;
                    BEGIN
                        FOR target IN
                            SELECT c.partition AS completions, h.partition AS choices
                            FROM %1$I.storage_partitions() AS c
                            LEFT JOIN %1$I.storage_partitions() AS h
                                ON h.parent = 'chat_completion_choices' AND NOT h.is_default AND h.range_from = c.range_from AND h.range_to = c.range_to
                            WHERE c.parent = 'chat_completions' AND NOT c.is_default AND c.range_to <= cutoff AND c.range_from >= not_before
                                AND c.range_to <= now()
                            ORDER BY c.range_from
                        LOOP
                            EXECUTE format('LOCK TABLE %%1$I.%%2$I IN SHARE MODE', %1$L, target.completions);
                            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %%1$I.%%2$I WHERE tenant < $1) OR EXISTS (SELECT 1 FROM %%1$I.%%2$I WHERE tenant > $1)',
                                %1$L, target.completions) INTO others USING claimed;
                            CONTINUE WHEN others;
                            EXECUTE format('SELECT count(*) FROM %%1$I.%%2$I', %1$L, target.completions) INTO counted;
                            completions_names := completions_names || target.completions;
                            choices_names := choices_names || target.choices;
                            dropped := dropped + counted;
                        END LOOP;
                        IF cardinality(completions_names) = 0 THEN
                            RETURN 0;
                        END IF;
                        LOCK TABLE %1$I.chat_completions, %1$I.chat_completion_choices IN ACCESS EXCLUSIVE MODE;
                        FOR i IN 1 .. cardinality(completions_names) LOOP
                            IF choices_names[i] IS NOT NULL THEN
                                EXECUTE format('DROP TABLE %%1$I.%%2$I', %1$L, choices_names[i]);
                            END IF;
                            EXECUTE format('ALTER TABLE %%1$I.chat_completions DETACH PARTITION %%1$I.%%2$I', %1$L, completions_names[i]);
                            EXECUTE format('DROP TABLE %%1$I.%%2$I', %1$L, completions_names[i]);
                        END LOOP;
                    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
                        RETURN 0;
                    END;
                    RETURN dropped;
                END
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,

        // The current month and the next three, from the start.
        "DO $ensure$ BEGIN PERFORM storage_ensure_partitions(3); END $ensure$;",
    ];


    /// <summary>What <see cref="Up"/> creates, dropped in reverse order.</summary>
    public static IReadOnlyList<string> Down { get; } =
    [
        $"""
        DROP FUNCTION IF EXISTS storage_drop_partitions_before(timestamptz, timestamptz);
        DROP FUNCTION IF EXISTS storage_ensure_partitions(integer);
        DROP FUNCTION IF EXISTS storage_create_partition(timestamptz, timestamptz);
        DROP FUNCTION IF EXISTS storage_seal_partition(text);
        DROP FUNCTION IF EXISTS storage_partitions();
        DROP TABLE IF EXISTS {Settings};
        """,
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
        DROP TABLE IF EXISTS {HourlyRollup};
        DROP TABLE IF EXISTS {Rollup};
        DROP FUNCTION IF EXISTS storage_set_tenant_key(bytea);
        DROP FUNCTION IF EXISTS storage_claim_tenant(text, text);
        DROP FUNCTION IF EXISTS storage_current_tenant();
        DROP FUNCTION IF EXISTS storage_hmac_sha256(bytea, bytea);
        DROP TABLE IF EXISTS storage_tenant_key;
        DROP FUNCTION IF EXISTS storage_token_count(jsonb, text);
        """,
    ];

    private const string Totals = """
        completions bigint NOT NULL,
            prompt_tokens numeric NOT NULL,
            completion_tokens numeric NOT NULL,
            total_tokens numeric NOT NULL,
            cached_tokens numeric NOT NULL,
            reasoning_tokens numeric NOT NULL,
            cost numeric NOT NULL,
            unpriced bigint NOT NULL
        """;

    private const string TotalNames = "completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced";

    private const string TotalSums =
        "sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)";

    // A group whose rows cancel out (an update that changed no count) writes nothing.
    private const string NotZero = """
        HAVING sum(completions) <> 0 OR sum(prompt_tokens) <> 0 OR sum(completion_tokens) <> 0 OR sum(total_tokens) <> 0
                OR sum(cached_tokens) <> 0 OR sum(reasoning_tokens) <> 0 OR sum(cost) <> 0 OR sum(unpriced) <> 0
        """;

    // The statement's delta into both rollups: the daily upsert as a data-modifying CTE, then the hourly one. Rows are
    // upserted in key order, so concurrent writers of one stripe (never two sessions) and the compaction lock rows in
    // one order and cannot deadlock.
    private static string Upserts => $"""
        daily AS (
            INSERT INTO %1$I.{Rollup} AS d (tenant, day, model, stripe, {TotalNames})
            SELECT tenant, (hour AT TIME ZONE 'UTC')::date, model, pg_backend_pid(), {TotalSums}
            FROM delta
            GROUP BY 1, 2, 3
            {NotZero}
            ORDER BY 1, 2, 3
            {OnConflict("day")}
            RETURNING 1)
        INSERT INTO %1$I.{HourlyRollup} AS d (tenant, hour, model, stripe, {TotalNames})
        SELECT tenant, hour, model, pg_backend_pid(), {TotalSums}
        FROM delta
        GROUP BY 1, 2, 3
        {NotZero}
        ORDER BY 1, 2, 3
        {OnConflict("hour")}
        """;

    private static string OnConflict(string bucket) => $"""
        ON CONFLICT (tenant, {bucket}, model, stripe) DO UPDATE SET
            completions = d.completions + excluded.completions,
            prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = d.completion_tokens + excluded.completion_tokens,
            total_tokens = d.total_tokens + excluded.total_tokens,
            cached_tokens = d.cached_tokens + excluded.cached_tokens,
            reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
            cost = d.cost + excluded.cost,
            unpriced = d.unpriced + excluded.unpriced
        """;

    // The UTC hour an instant falls in: date_bin works on the instant itself, so the session's time zone (one with a
    // half-hour offset, say) cannot move it, as it would date_trunc's on a timestamptz.
    private static string HourOf(string instant) => $"date_bin('1 hour', {instant}, timestamptz '2000-01-01 00:00:00+00')";

    // One completion's contribution, signed.
    private static string Delta(string source, int sign) => $"""
        SELECT tenant, {HourOf("created")} AS hour, model, {sign} AS completions,
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
