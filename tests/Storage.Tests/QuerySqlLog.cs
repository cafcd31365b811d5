using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>Records every command EF sends, with copies of its parameters, from contexts built over a test database.</summary>
internal sealed class QuerySqlLog : DbCommandInterceptor
{
    private readonly List<QueryCommand> _commands = [];

    public ChatCompletionDbContext CreateContext(MigratedDatabase database) =>
        new(StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), database.DataSource).AddInterceptors(this).Options);

    /// <summary>The commands since the last call.</summary>
    public List<QueryCommand> Take()
    {
        lock (_commands)
        {
            var taken = _commands.ToList();
            _commands.Clear();
            return taken;
        }
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Record(command);
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Record(command);
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }

    private void Record(DbCommand command)
    {
        var parameters = command.Parameters.Cast<NpgsqlParameter>().Select(p => p.Clone()).ToList();
        lock (_commands)
        {
            _commands.Add(new QueryCommand(command.CommandText, parameters));
        }
    }
}

internal sealed record QueryCommand(string Sql, IReadOnlyList<NpgsqlParameter> Parameters)
{
    public IEnumerable<string> TextValues => Parameters.Select(p => p.Value).OfType<string>();

    public override string ToString() => Sql;
}
