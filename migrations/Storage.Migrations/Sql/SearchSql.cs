namespace Storage.Migrations.Sql;

/// <summary>
/// The hand-written part of the <c>Baseline</c> migration that serves search, run after <see cref="CostSql"/>: three
/// functions that read the searchable text out of the jsonb columns (content parts, tool calls, the stored request), and
/// <c>storage_search_index(enabled)</c>, with which the schema's owner turns the trigram indexes on or off. Nothing is
/// copied into a column of its own: search reads the columns the completion is stored in, so it costs no bytes until a
/// deployment turns the indexes on. The migration needs no extension; turning the indexes on creates <c>pg_trgm</c>
/// (a trusted contrib extension) when it is missing. A frozen snapshot, like the migration.
/// </summary>
internal static class SearchSql
{
    /// <summary>The indexes <c>storage_search_index(true)</c> creates: table, name, indexed expression.</summary>
    private static readonly (string Table, string Name, string Expression)[] Indexes =
    [
        ("chat_completion_choices", "ix_chat_completion_choices_search_content", "message_content"),
        ("chat_completion_choices", "ix_chat_completion_choices_search_parts", "storage_search_parts(message_content_parts)"),
        ("chat_completion_choices", "ix_chat_completion_choices_search_refusal", "message_refusal"),
        ("chat_completion_choices", "ix_chat_completion_choices_search_reasoning", "message_reasoning"),
        ("chat_completion_choices", "ix_chat_completion_choices_search_reasoning_content", "message_reasoning_content"),
        ("chat_completion_choices", "ix_chat_completion_choices_search_tool_calls", "storage_search_tool_calls(message_tool_calls)"),
        ("chat_completions", "ix_chat_completions_search_request", "storage_search_request(call_request)"),
    ];

    /// <summary>The statements, in order. Each is idempotent, as the idempotent script wants.</summary>
    public static IReadOnlyList<string> Up { get; } =
    [
        // The strings of a jsonb value that search reads, one a line; NULL when there are none. SQL-standard bodies,
        // bound when created (no search_path at run time), immutable, so expression indexes may use them. Strings only:
        // keys, roles, ids and image data are not what was said.
        //   parts: the text and refusal of each content part.
        //   tool calls: the members of each call's function (or custom tool): name and arguments (input).
        //   request: each message's content (text, or its parts' text), refusal and tool calls.
        """
        CREATE OR REPLACE FUNCTION storage_search_parts(parts jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN (SELECT string_agg(s.v #>> '{}', E'\n') FROM (
            SELECT v FROM jsonb_path_query(parts, 'lax $[*].text ? (@.type() == "string")') AS q (v)
            UNION ALL SELECT v FROM jsonb_path_query(parts, 'lax $[*].refusal ? (@.type() == "string")') AS q (v)) AS s);

        CREATE OR REPLACE FUNCTION storage_search_tool_calls(calls jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN (SELECT string_agg(q.v #>> '{}', E'\n') FROM jsonb_path_query(calls, 'lax $[*].*.* ? (@.type() == "string")') AS q (v));

        CREATE OR REPLACE FUNCTION storage_search_request(request jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN (SELECT string_agg(s.v #>> '{}', E'\n') FROM (
            SELECT v FROM jsonb_path_query(request, 'lax $.messages[*].content ? (@.type() == "string")') AS q (v)
            UNION ALL SELECT v FROM jsonb_path_query(request, 'lax $.messages[*].content[*].text ? (@.type() == "string")') AS q (v)
            UNION ALL SELECT v FROM jsonb_path_query(request, 'lax $.messages[*].content[*].refusal ? (@.type() == "string")') AS q (v)
            UNION ALL SELECT v FROM jsonb_path_query(request, 'lax $.messages[*].refusal ? (@.type() == "string")') AS q (v)
            UNION ALL SELECT v FROM jsonb_path_query(request, 'lax $.messages[*].tool_calls[*].*.* ? (@.type() == "string")') AS q (v)) AS s);
        """,

        // Turns the trigram indexes of search on (true) or off (false) and returns how many of them exist afterwards; NULL
        // only counts them. Made on the partitioned parents, so every partition has them, and storage_create_partition's
        // ATTACH builds them on each new one. Off by default: they make the bulk path several times slower (README,
        // Querying), and search is correct without them (a scan). The owner's alone, like the other DDL functions; it
        // runs as the caller, who must be allowed to create pg_trgm when it is missing (it is trusted: a database owner
        // may; managed services allow it), and to create indexes on the tables (their owner).
        $"""
        DO $fn$
        BEGIN
            EXECUTE format($sql$
                CREATE OR REPLACE FUNCTION storage_search_index(enabled boolean DEFAULT NULL) RETURNS integer
                LANGUAGE plpgsql SET search_path = pg_catalog, %1$I, pg_temp AS $body$
                DECLARE
                    trgm_schema text;
                    present integer;
                BEGIN
                    IF enabled THEN
                        SELECT e.extnamespace::regnamespace::text INTO trgm_schema FROM pg_extension AS e WHERE e.extname = 'pg_trgm';
                        IF trgm_schema IS NULL THEN
                            BEGIN
                                CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA %1$I;
                            EXCEPTION WHEN undefined_file OR insufficient_privilege THEN
                                RAISE EXCEPTION 'storage_search_index: the pg_trgm extension is needed (%%)', SQLERRM
                                    USING ERRCODE = 'feature_not_supported',
                                        HINT = 'Install PostgreSQL''s contrib (Debian and Docker images have it), or have a role that may create extensions run CREATE EXTENSION pg_trgm; search works without the index, by a scan.';
                            END;
                            SELECT e.extnamespace::regnamespace::text INTO trgm_schema FROM pg_extension AS e WHERE e.extname = 'pg_trgm';
                        END IF;
        {string.Join("\n", Indexes.Select(index =>
            $"                EXECUTE format('CREATE INDEX IF NOT EXISTS {index.Name} ON %%I.{index.Table} USING gin (({index.Expression}) %%s.gin_trgm_ops) WHERE ({index.Expression}) IS NOT NULL', %1$L, trgm_schema);"))}
                    ELSIF NOT enabled THEN
        {string.Join("\n", Indexes.Select(index => $"                DROP INDEX IF EXISTS %1$I.{index.Name};"))}
                    END IF;
                    SELECT count(*) INTO present FROM pg_indexes AS i
                    WHERE i.schemaname = %1$L AND i.tablename IN ('chat_completions', 'chat_completion_choices')
                        AND i.indexname IN ({string.Join(", ", Indexes.Select(index => $"'{index.Name}'"))});
                    RETURN present;
                END
                $body$;
                REVOKE EXECUTE ON FUNCTION %1$I.storage_search_index(boolean) FROM PUBLIC;
                $sql$, current_schema());
        END
        $fn$;
        """,
    ];

    /// <summary>What <see cref="Up"/> creates, dropped in reverse order (the indexes first: they use the functions).</summary>
    public static IReadOnlyList<string> Down { get; } =
    [
        $"""
        {string.Join("\n", Indexes.Select(index => $"DROP INDEX IF EXISTS {index.Name};"))}
        DROP FUNCTION IF EXISTS storage_search_index(boolean);
        DROP FUNCTION IF EXISTS storage_search_request(jsonb);
        DROP FUNCTION IF EXISTS storage_search_tool_calls(jsonb);
        DROP FUNCTION IF EXISTS storage_search_parts(jsonb);
        """,
    ];
}
