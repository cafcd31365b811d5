using Npgsql;

namespace Storage.Internal;

/// <summary>
/// Whether the store's database is a Citus coordinator: asked once per data source, on the first operation, and shared
/// by every tenant view. On Citus the reads of completions with their choices take a shape that Citus runs shard by
/// shard (<see cref="CompletionQueries"/>), which on one node would cost a second round trip.
/// </summary>
internal sealed class CitusDetection(NpgsqlDataSource dataSource)
{
    private const int Unknown = 0, No = 1, Yes = 2;

    // Two operations may both ask the first time; they get the same answer.
    private int _answer;

    public async ValueTask<bool> IsCitusAsync(CancellationToken cancellationToken)
    {
        var answer = Volatile.Read(ref _answer);
        if (answer == Unknown)
        {
            await using var command = dataSource.CreateCommand(DeploymentSql.IsCitus);
            answer = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true ? Yes : No;
            Volatile.Write(ref _answer, answer);
        }

        return answer == Yes;
    }
}
