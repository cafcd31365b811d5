using Npgsql;

namespace Storage.Benchmarks;

/// <summary>Plain Npgsql commands with positional parameters and no timeout: VACUUM and scans of a million rows outlast the default 30 s.</summary>
internal static class Sql
{
    public static NpgsqlCommand Command(this NpgsqlDataSource dataSource, string sql, params object[] values)
    {
        var command = dataSource.CreateCommand(sql);
        command.CommandTimeout = 0;
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    public static async Task ExecuteAsync(this NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(this NpgsqlDataSource dataSource, string sql, params object[] values)
    {
        await using var command = dataSource.Command(sql, values);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The first column of every row, as text: EXPLAIN output, SHOW, small census queries.</summary>
    public static async Task<List<string>> LinesAsync(this NpgsqlDataSource dataSource, string sql, params object[] values)
    {
        await using var command = dataSource.Command(sql, values);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}
