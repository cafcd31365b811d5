namespace Storage.Migrations.Sql;

/// <summary>
/// The hand-written part of the <c>Baseline</c> migration that prices completions, run after <see cref="BaselineSql"/>:
/// the price table (USD per token, per model, token class and effective-from), which only the schema's owner writes.
/// The costs themselves are computed by the library when it stores a completion (columns <c>cost</c>,
/// <c>cost_source</c>, <c>cost_clamped</c> of <c>chat_completions</c>, in EF's model) and summed by the rollup's triggers
/// (<see cref="BaselineSql"/>). A frozen snapshot, like the migration.
/// </summary>
internal static class CostSql
{
    private const string Prices = "chat_completion_prices";

    /// <summary>The statements, in order. Each is idempotent, as the idempotent script wants.</summary>
    public static IReadOnlyList<string> Up { get; } =
    [
        // token_class is the member of LiteLLM's model_prices_and_context_window.json that holds the price
        // (input_cost_per_token, cache_read_input_token_cost, …). Not a tenant's: prices hold for the whole database.
        $"""
        CREATE TABLE IF NOT EXISTS {Prices} (
            model text NOT NULL,
            token_class text NOT NULL,
            effective_from timestamp with time zone NOT NULL,
            usd_per_token numeric NOT NULL CHECK (usd_per_token >= 0),
            CONSTRAINT pk_{Prices} PRIMARY KEY (model, token_class, effective_from));
        """,

        // Write privileges that default privileges handed out (the README's application role gets them) are taken
        // back: only the owner (storage prices import, from the deployment) writes prices. Every role reads them: they
        // are list prices, not secrets, and a role that stores completions must price them (a deployment that grants
        // table by table needs nothing more).
        $"""
        DO $grants$
        DECLARE
            grant_row record;
        BEGIN
            FOR grant_row IN
                SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
                WHERE g.table_schema = current_schema() AND g.grantee NOT IN (current_user, 'PUBLIC') AND g.table_name = '{Prices}'
                    AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
            LOOP
                EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.{Prices} FROM %I', current_schema(), grant_row.grantee);
            END LOOP;
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.{Prices} FROM PUBLIC', current_schema());
            EXECUTE format('GRANT SELECT ON %I.{Prices} TO PUBLIC', current_schema());
        END
        $grants$;
        """,
    ];

    /// <summary>What <see cref="Up"/> creates, dropped in reverse order.</summary>
    public static IReadOnlyList<string> Down { get; } =
    [
        $"DROP TABLE IF EXISTS {Prices};",
    ];
}
