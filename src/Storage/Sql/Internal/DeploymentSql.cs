namespace Storage.Internal;

/// <summary>What the library asks to learn what kind of deployment it runs on (<see cref="CitusDetection"/>).</summary>
internal static class DeploymentSql
{
    /// <summary>Whether the database has the Citus extension, which <c>storage citus distribute</c> needs (a column EF reads as a scalar).</summary>
    public const string IsCitus = """SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') AS "Value" """;
}
