using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// Whether the store's database is a Citus coordinator: asked once per data source, on the first operation, and shared
/// by every tenant view. On Citus the reads of completions with their choices take a shape that Citus runs shard by
/// shard (<see cref="CompletionQueries"/>), which on one node would cost more round trips.
/// </summary>
internal sealed class CitusDetection
{
    private const int Unknown = 0, No = 1, Yes = 2;

    // Two operations may both ask the first time; they get the same answer.
    private int _answer;

    /// <summary>The answer, asked on the operation's context the first time: its query retries as the operation's would.</summary>
    public async ValueTask<bool> IsCitusAsync(ChatCompletionDbContext db, CancellationToken cancellationToken)
    {
        var answer = Volatile.Read(ref _answer);
        if (answer == Unknown)
        {
            answer = await db.Database.SqlQueryRaw<bool>(DeploymentSql.IsCitus).SingleAsync(cancellationToken).ConfigureAwait(false) ? Yes : No;
            Volatile.Write(ref _answer, answer);
        }

        return answer == Yes;
    }
}
