namespace Storage.Internal;

/// <summary>The statements of search's index switch: the migration's <c>storage_search_index</c>, called and counted.</summary>
internal static class SearchSql
{
    /// <summary>How many indexes the switch manages: six over the choices' text, one over the stored request.</summary>
    public const int IndexCount = 7;

    /// <summary>Turns the indexes on (<c>true</c>) or off (<c>false</c>), or only counts them (<c>NULL</c>); returns how many exist.</summary>
    public const string Switch = "SELECT storage_search_index(@enabled)";

    /// <summary>How many of the indexes exist, from the catalog: any role may ask.</summary>
    public const string Count = """
        SELECT count(*)::int FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename IN ('chat_completions', 'chat_completion_choices')
            AND indexname LIKE 'ix\_chat\_completion%\_search\_%'
        """;
}
