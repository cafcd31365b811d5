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
    /// policy with a subquery, and a statement trigger), the deltas table is made and seeded with the rollup's totals
    /// (one row per tenant, hour and model: the history of deleted completions stays counted), the rollup tables go,
    /// and the three tables are distributed. Rows already stored are copied into the shards.
    /// </summary>
    public static IReadOnlyList<string> Distribute(int? shardCount) =>
    [
        """
        DROP TRIGGER IF EXISTS storage_usage_daily_insert ON chat_completions;
        DROP TRIGGER IF EXISTS storage_usage_daily_update ON chat_completions;
        DROP FUNCTION IF EXISTS storage_usage_daily_apply();
        DROP POLICY IF EXISTS tenant_isolation ON chat_completions;
        DROP POLICY IF EXISTS tenant_isolation ON chat_completion_choices;
        ALTER TABLE chat_completions DISABLE ROW LEVEL SECURITY;
        ALTER TABLE chat_completion_choices DISABLE ROW LEVEL SECURITY;
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
        // Called by the triggers on the workers' shards, so it must exist there too.
        "SELECT create_distributed_function('storage_token_count(jsonb, text)');",
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
        // Row-level security is not offered on Citus (see the README): the tenant claim is a session setting, which
        // Citus does not pass to the workers' connections, and its key table lives on the coordinator only.
        """
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_set_row_level_security(enabled boolean) RETURNS void
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                BEGIN
                    IF enabled THEN
                        RAISE EXCEPTION 'row-level security is not supported on a Citus deployment of the store'
                            USING ERRCODE = 'feature_not_supported';
                    END IF;
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
