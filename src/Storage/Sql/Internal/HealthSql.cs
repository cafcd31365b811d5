namespace Storage.Internal;

/// <summary>The health check's query: the database answers and the migrations created the completions table.</summary>
internal static class HealthSql
{
    public const string HasSchema = "SELECT to_regclass('chat_completions') IS NOT NULL";
}
