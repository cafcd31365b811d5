namespace Storage.Migrations.Sql;

/// <summary>
/// What <see cref="StorageMigrator.DistributeOnCitusAsync"/> runs on a Citus coordinator after the migrations: the
/// tables sharded by <c>completion_key</c> and co-located, and the usage rollup made Citus-safe. Every object is named in
/// the schema the migrations ran in (<c>current_schema()</c>), as in <see cref="BaselineSql"/>.
/// </summary>
/// <remarks>
/// The single-node rollup is kept by statement triggers whose transition tables feed upserts into tables keyed by
/// tenant and day; on Citus a statement trigger that writes another distributed table fails, so here a row trigger on
/// every shard of <c>chat_completions</c> writes the row's signed contribution into <c>chat_completion_usage_deltas</c>,
/// distributed by the same <c>completion_key</c> and co-located: the delta lands in the shard on the same node, in the
/// writer's own transaction (Citus allows a trigger's local, co-located writes). The two rollup tables become views
/// over the deltas with the same columns, so the library's usage queries are unchanged. <c>storage_compact_usage()</c>
/// folds each shard's deltas of one tenant, hour and model into one row, inside that shard (one local transaction per
/// shard), so a fold never moves a contribution between shards or nodes and a reader never counts one twice.
/// <para>
/// Row-level security is checked where the rows are, on the workers, as the connecting role. Citus refuses a policy
/// with a subquery, so the policies compare with <c>storage_current_tenant()</c> directly (called per row rather than
/// once per statement), and the function runs on every node: the signing key becomes a reference table (a copy on every
/// node, changed on all of them in one transaction), read through the node's own copy. Citus passes a setting to the
/// workers' connections only when it is made with <c>SET LOCAL</c> in a transaction (<c>citus.propagate_set_commands =
/// 'local'</c>), so <c>storage_claim_tenant</c> makes the claim that way too, and tells the library to state it in every
/// transaction.
/// </para>
/// </remarks>
internal static class CitusSql
{
    public const string Deltas = "chat_completion_usage_deltas";

    /// <summary>Whether the database has Citus, and whether it has been migrated.</summary>
    public const string State = """
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus'),
            to_regclass(format('%I.chat_completions', current_schema())) IS NOT NULL
        """;

    /// <summary>Whether the completions are distributed already (Citus's catalog: asked only where Citus is).</summary>
    public const string Distributed = """
        SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = format('%I.chat_completions', current_schema())::regclass)
        """;

    /// <summary>
    /// The settings the transaction needs: triggers on distributed tables, one placement per shard, and one connection per
    /// node (Citus refuses to create a function in a transaction that used several).
    /// </summary>
    public const string Settings =
        "SET LOCAL citus.enable_unsafe_triggers = on; SET LOCAL citus.shard_replication_factor = 1; SET LOCAL citus.multi_shard_modify_mode = 'sequential';";

    /// <summary>
    /// Run once, on a schema that is not distributed yet: the single-node triggers and policies go (Citus refuses a
    /// policy with a subquery, and a statement trigger; <see cref="Objects"/> makes the Citus policies), the deltas table
    /// is made and seeded with the rollup's totals (one row per tenant, hour and model: the history of deleted
    /// completions stays counted), the rollup tables go, and the three tables are distributed. Rows already stored are
    /// copied into the shards. The signing key becomes a reference table, and the functions that the workers call (the
    /// triggers', the policies', search's) are made on every node.
    /// </summary>
    public static IReadOnlyList<string> Distribute(int? shardCount) =>
    [
        """
        DROP TRIGGER IF EXISTS storage_usage_daily_insert ON chat_completions;
        DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
        DROP FUNCTION IF EXISTS storage_usage_daily_apply();
        DROP POLICY IF EXISTS tenant_isolation ON chat_completions;
        DROP POLICY IF EXISTS tenant_isolation ON chat_completion_choices;
        """,
        $"""
        CREATE TABLE {Deltas} (
            completion_key bigint NOT NULL,
            tenant text NOT NULL,
            day date NOT NULL,
            hour timestamp with time zone NOT NULL,
            model text NOT NULL,
            completions bigint NOT NULL,
            prompt_tokens numeric NOT NULL,
            completion_tokens numeric NOT NULL,
            total_tokens numeric NOT NULL,
            cached_tokens numeric NOT NULL,
            reasoning_tokens numeric NOT NULL,
            cost numeric NOT NULL,
            unpriced bigint NOT NULL);
        CREATE INDEX ix_{Deltas}_tenant_day_model ON {Deltas} (tenant, day, model);
        CREATE INDEX ix_{Deltas}_tenant_hour_model ON {Deltas} (tenant, hour, model);
        INSERT INTO {Deltas}
        SELECT hashtextextended(tenant || '/' || model || '/' || hour::text, 0), tenant, (hour AT TIME ZONE 'UTC')::date, hour, model,
            sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens),
            sum(cost), sum(unpriced)
        FROM chat_completion_usage_hourly
        GROUP BY tenant, hour, model;
        DROP TABLE chat_completion_usage_daily, chat_completion_usage_hourly;
        """,
        $"SELECT create_distributed_table('chat_completions', 'completion_key'{(shardCount is { } count ? $", shard_count => {count}" : "")});",
        "SELECT create_distributed_table('chat_completion_choices', 'completion_key', colocate_with => 'chat_completions');",
        $"SELECT create_distributed_table('{Deltas}', 'completion_key', colocate_with => 'chat_completions');",
        "SELECT create_reference_table('storage_tenant_key');",
        // Called on the workers' shards (by the triggers, the policies, search's filters and indexes), so they must exist there too.
        """
        SELECT create_distributed_function('storage_token_count(jsonb, text)');
        SELECT create_distributed_function('storage_hmac_sha256(bytea, bytea)');
        SELECT create_distributed_function('storage_current_tenant()');
        SELECT create_distributed_function('storage_search_parts(jsonb)');
        SELECT create_distributed_function('storage_search_tool_calls(jsonb)');
        SELECT create_distributed_function('storage_search_request(jsonb)');
        """,
    ];

    /// <summary>Run every time (each is idempotent): the functions, triggers and views of the Citus path.</summary>
    public static IReadOnlyList<string> Objects { get; } =
    [
        // One completion's contribution, signed: +1 for a new row; for an update that changes a counted column, -1 for
        // the old and +1 for the new. A metadata update changes nothing counted and fires nothing (the WHEN clause). As
        // on a single node, a delete subtracts nothing: usage is a record of what was stored and used.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_usage_delta_apply() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                BEGIN
                    IF TG_OP = 'UPDATE' THEN
                        INSERT INTO %1$I.{Deltas} VALUES ({Delta("OLD", -1)});
                    END IF;
                    INSERT INTO %1$I.{Deltas} VALUES ({Delta("NEW", 1)});
                    RETURN NULL;
                END
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,
        """
        DROP TRIGGER IF EXISTS storage_usage_delta_insert ON chat_completions;
        CREATE TRIGGER storage_usage_delta_insert AFTER INSERT ON chat_completions
            FOR EACH ROW EXECUTE FUNCTION storage_usage_delta_apply();
        DROP TRIGGER IF EXISTS storage_usage_delta_update ON chat_completions;
        CREATE TRIGGER storage_usage_delta_update AFTER UPDATE ON chat_completions FOR EACH ROW
            WHEN (OLD.tenant IS DISTINCT FROM NEW.tenant OR OLD.created IS DISTINCT FROM NEW.created OR OLD.model IS DISTINCT FROM NEW.model
                OR OLD.usage_prompt_tokens IS DISTINCT FROM NEW.usage_prompt_tokens
                OR OLD.usage_completion_tokens IS DISTINCT FROM NEW.usage_completion_tokens
                OR OLD.usage_total_tokens IS DISTINCT FROM NEW.usage_total_tokens
                OR OLD.usage_prompt_tokens_details IS DISTINCT FROM NEW.usage_prompt_tokens_details
                OR OLD.usage_completion_tokens_details IS DISTINCT FROM NEW.usage_completion_tokens_details
                OR OLD.cost IS DISTINCT FROM NEW.cost)
            EXECUTE FUNCTION storage_usage_delta_apply();
        """,
        // The rollups the usage query reads, as views with the rollup tables' columns; the invoker's privileges apply.
        $"""
        CREATE OR REPLACE VIEW chat_completion_usage_daily WITH (security_invoker = true) AS
            SELECT tenant, day, model, 0 AS stripe, {TotalNames} FROM {Deltas};
        CREATE OR REPLACE VIEW chat_completion_usage_hourly WITH (security_invoker = true) AS
            SELECT tenant, hour, model, 0 AS stripe, {TotalNames} FROM {Deltas};
        """,
        // Readers of the completions may read the usage; only the triggers (as the owner) write the deltas.
        $"""
        DO $grants$
        DECLARE
            grantee_name text;
        BEGIN
            EXECUTE format('REVOKE ALL ON %I.{Deltas} FROM PUBLIC', current_schema());
            FOR grantee_name IN
                SELECT DISTINCT g.grantee FROM information_schema.role_table_grants AS g
                WHERE g.table_schema = current_schema() AND g.table_name = 'chat_completions' AND g.privilege_type = 'SELECT'
                    AND g.grantee NOT IN (current_user, 'PUBLIC')
            LOOP
                EXECUTE format('REVOKE ALL ON %I.{Deltas} FROM %I', current_schema(), grantee_name);
                EXECUTE format('GRANT SELECT ON %1$I.{Deltas}, %1$I.chat_completion_usage_daily, %1$I.chat_completion_usage_hourly TO %2$I',
                    current_schema(), grantee_name);
            END LOOP;
        END
        $grants$;
        """,
        // Folds one shard's deltas: the rows of each tenant, day, hour and model that has more than one become one row,
        // keyed by one of their own completion keys so that it stays in this shard. Runs on the worker that holds the
        // shard, in one local transaction; rows written meanwhile are not in its snapshot and wait for the next fold.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_fold_usage_shard(shard regclass) RETURNS bigint
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp
                SET citus.enable_manual_changes_to_shards = on AS $body$
                DECLARE
                    folded bigint;
                BEGIN
                    EXECUTE format($fold$
                        WITH groups AS (
                            SELECT tenant, day, hour, model FROM %%1$s GROUP BY tenant, day, hour, model HAVING count(*) > 1),
                        moved AS (
                            DELETE FROM %%1$s AS d USING groups AS g
                            WHERE d.tenant = g.tenant AND d.day = g.day AND d.hour = g.hour AND d.model = g.model
                            RETURNING d.*),
                        folded AS (
                            INSERT INTO %%1$s
                            SELECT min(completion_key), tenant, day, hour, model, {TotalSums}
                            FROM moved GROUP BY tenant, day, hour, model
                            RETURNING 1)
                        SELECT count(*) FROM moved
                        $fold$, shard) INTO folded;
                    RETURN folded;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_fold_usage_shard(regclass) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,
        // What the maintenance service, the storage command and a scheduler call, as on a single node: folds every shard
        // (each in its own transaction on its worker) and returns how many delta rows it folded.
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_compact_usage() RETURNS bigint
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                DECLARE
                    shard record;
                    total bigint := 0;
                BEGIN
                    FOR shard IN
                        SELECT r.shardid, r.success, r.result
                        FROM run_command_on_shards(format('%%I.{Deltas}', %1$L), format('SELECT %%I.storage_fold_usage_shard(%%%%L)', %1$L)) AS r
                    LOOP
                        IF NOT shard.success THEN
                            RAISE EXCEPTION 'folding the usage of shard %% failed: %%', shard.shardid, shard.result;
                        END IF;
                        total := total + shard.result::bigint;
                    END LOOP;
                    RETURN total;
                END
                $body$;
                $sql$, current_schema());
        END
        $fn$;
        """,
        // The tenant a statement may act for, as on a single node (BaselineSql), but read on every node: the key from the
        // node's own copy of the reference table (its shard, named when this runs; a query of the reference table itself
        // would be a distributed query nested in a query on a shard, which Citus refuses).
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
                    SELECT k.key INTO signing_key FROM %2$s AS k;
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
                $sql$, current_schema(),
                (SELECT shard_name(s.logicalrelid, s.shardid) FROM pg_dist_shard AS s
                 WHERE s.logicalrelid = format('%I.storage_tenant_key', current_schema())::regclass));
        END
        $fn$;
        """,
        // Installs, replaces or removes (NULL) the signing key, on every node in one transaction: as on a single node,
        // in PL/pgSQL (Citus cannot plan a SQL function's parameter into a statement on a reference table). The owner's alone.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_set_tenant_key(key bytea) RETURNS void
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                BEGIN
                    DELETE FROM %1$I.storage_tenant_key;
                    IF key IS NOT NULL THEN
                        INSERT INTO %1$I.storage_tenant_key (key) VALUES (key);
                    END IF;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_set_tenant_key(bytea) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,
        // The claim, for the session (the coordinator's own reads, such as storage_drop_partitions_before's) and with
        // SET LOCAL, which Citus sends to the workers' connections of this transaction, those opened already and those
        // opened later. Returns true: the library states the claim again in each transaction (TenantTransactionInterceptor).
        """
        CREATE OR REPLACE FUNCTION storage_claim_tenant(tenant text, proof text) RETURNS boolean
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET citus.propagate_set_commands = 'local' AS $fn$
        BEGIN
            PERFORM set_config('storage.tenant', tenant, false), set_config('storage.tenant_proof', proof, false);
            EXECUTE format('SET LOCAL storage.tenant = %L', tenant);
            EXECUTE format('SET LOCAL storage.tenant_proof = %L', proof);
            RETURN true;
        END
        $fn$;
        """,
        // The policies, without a subquery (Citus refuses one), on the three tables a role reads; the deltas follow the
        // completions' switch (a schema distributed with row-level security on keeps it on).
        $"""
        DO $policies$
        DECLARE
            t text;
        BEGIN
            FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Deltas}'] LOOP
                EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I.%I', current_schema(), t);
                EXECUTE format(
                    'CREATE POLICY tenant_isolation ON %1$I.%2$I USING (tenant = %1$I.storage_current_tenant()) '
                    'WITH CHECK (tenant = %1$I.storage_current_tenant())', current_schema(), t);
            END LOOP;
            EXECUTE format('ALTER TABLE %I.{Deltas} %s ROW LEVEL SECURITY', current_schema(),
                CASE WHEN (SELECT c.relrowsecurity FROM pg_class AS c WHERE c.oid = format('%I.chat_completions', current_schema())::regclass)
                    THEN 'ENABLE' ELSE 'DISABLE' END);
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
                    FOREACH t IN ARRAY ARRAY['chat_completions', 'chat_completion_choices', '{Deltas}'] LOOP
                        EXECUTE format('ALTER TABLE %%I.%%I %%s ROW LEVEL SECURITY', '%1$s', t, CASE WHEN enabled THEN 'ENABLE' ELSE 'DISABLE' END);
                    END LOOP;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_set_row_level_security(boolean) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,
    ];

    private const string TotalNames = "completions, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, cost, unpriced";

    private const string TotalSums =
        "sum(completions), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cached_tokens), sum(reasoning_tokens), sum(cost), sum(unpriced)";

    // The deltas row of one version of a completion (OLD or NEW), signed; the same sums as the single-node rollup's.
    private static string Delta(string row, int sign) => $"""
        {row}.completion_key, {row}.tenant, ({row}.created AT TIME ZONE 'UTC')::date,
                            date_bin('1 hour', {row}.created, timestamptz '2000-01-01 00:00:00+00'), {row}.model, {sign},
                            {sign} * coalesce({row}.usage_prompt_tokens, 0)::numeric,
                            {sign} * coalesce({row}.usage_completion_tokens, 0)::numeric,
                            {sign} * coalesce({row}.usage_total_tokens, 0)::numeric,
                            {sign} * %1$I.storage_token_count({row}.usage_prompt_tokens_details, 'cached_tokens'),
                            {sign} * %1$I.storage_token_count({row}.usage_completion_tokens_details, 'reasoning_tokens'),
                            {sign} * coalesce({row}.cost, 0),
                            {sign} * ({row}.cost IS NULL)::int
        """;
}
