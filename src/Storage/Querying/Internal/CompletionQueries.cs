using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// The queries behind the store's list, export, update, delete and usage members. Each takes the context to run on,
/// so tests can run them on a context that records the SQL.
/// </summary>
internal static class CompletionQueries
{
    public const int MaxLimit = 100;

    // Choices are projected beside the completion rather than included: the projection also carries the shadow key
    // and version, which a no-tracking entity would lose.
    private static readonly Expression<Func<ChatCompletion, StoredRow>> Row = c => new StoredRow
    {
        Completion = c,
        Key = EF.Property<long>(c, ShadowProperties.CompletionKey),
        Xmin = EF.Property<uint>(c, ChatCompletionConfiguration.VersionProperty),
        Cost = EF.Property<decimal?>(c, ShadowProperties.Cost),
        CostSource = EF.Property<string?>(c, ShadowProperties.CostSource),
        CostClamped = EF.Property<bool>(c, ShadowProperties.CostClamped),
        Choices = c.Choices.OrderBy(choice => choice.Index).ToList(),
    };

    public static async Task<ChatCompletionPage> ListAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, string? after, int limit, ChatCompletionOrder order, CancellationToken cancellationToken)
    {
        KeysetPosition? position = null;
        if (after is not null)
        {
            position = await LatestAsync(db, after, cancellationToken).ConfigureAwait(false) is { } cursor
                ? new KeysetPosition(cursor.Created, cursor.Key)
                : throw new ChatCompletionNotFoundException(after, nameof(after));
        }

        // One more than asked for tells whether another page follows, without a count.
        var rows = await Page(db, filter, position, order, limit + 1).ToListAsync(cancellationToken).ConfigureAwait(false);
        var hasMore = rows.Count > limit;
        var page = rows.Take(limit).ToList();
        return new ChatCompletionPage(page.Select(row => row.ToCompletion()).ToList(), hasMore) { Costs = page.Select(row => row.ReadCost()).ToList() };
    }

    public static Task<List<StoredRow>> ExportBatchAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, int batchSize, CancellationToken cancellationToken) =>
        Page(db, filter, after, ChatCompletionOrder.Ascending, batchSize).ToListAsync(cancellationToken);

    // A list of at most one rather than FirstOrDefault, whose LIMIT EF would send as a parameter (see TakeConstant).
    public static async Task<StoredRow?> GetStoredAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken) =>
        (await ById(db, id).TakeConstant(1).Select(Row).AsSingleQuery().ToListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>
    /// Resolves the id to its most recently stored completion, checks the expected version, and replaces the metadata
    /// in one transaction whose UPDATE also compares xmin: a write committed after the check still makes it miss.
    /// The content hash is left alone, so a replay of the original completion still counts as already stored.
    /// </summary>
    public static async Task<StoredChatCompletion> UpdateMetadataAsync(
        ChatCompletionDbContext db, string id, IDictionary<string, string>? metadata, string? expectedVersion, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var current = await LatestAsync(db, id, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            throw expectedVersion is null
                ? new ChatCompletionNotFoundException(id, nameof(id))
                : new ChatCompletionConcurrencyException(id, expectedVersion, currentVersion: null);
        }

        if (expectedVersion is not null && expectedVersion != current.Version)
        {
            throw new ChatCompletionConcurrencyException(id, expectedVersion, current.Version);
        }

        var target = db.Completions.Where(c => EF.Property<long>(c, ShadowProperties.CompletionKey) == current.Key && c.Created == current.Created);
        if (expectedVersion is not null)
        {
            var xmin = current.Xmin;
            target = target.Where(c => EF.Property<uint>(c, ChatCompletionConfiguration.VersionProperty) == xmin);
        }

        var updated = await target.ExecuteUpdateAsync(set => set.SetProperty(c => c.Metadata, metadata), cancellationToken).ConfigureAwait(false);
        if (updated == 0)
        {
            throw expectedVersion is null
                ? new ChatCompletionNotFoundException(id, nameof(id))
                : new ChatCompletionConcurrencyException(id, expectedVersion, currentVersion: null);
        }

        var stored = await db.Completions
            .AsNoTracking()
            .Where(c => EF.Property<long>(c, ShadowProperties.CompletionKey) == current.Key && c.Created == current.Created)
            .Select(Row)
            .AsSingleQuery()
            .FirstAsync(cancellationToken)
            .ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stored.ToStored();
    }

    /// <summary>The call stored with the completion <see cref="ChatCompletionStore.GetAsync"/> returns for the id: none when no completion has the id.</summary>
    public static Task<List<ChatCompletionCall?>> CallAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken) =>
        ById(db, id).Select(c => c.Call).TakeConstant(1).ToListAsync(cancellationToken);

    /// <summary>Deletes the completion <see cref="ChatCompletionStore.GetAsync"/> returns for the id, in one statement; choices cascade.</summary>
    public static async Task<bool> DeleteAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken) =>
        await ById(db, id).Take(1).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0;

    /// <summary>Deletes up to <paramref name="batchSize"/> of the oldest matching completions in one short statement (its own transaction).</summary>
    public static Task<int> DeleteBatchAsync(
        ChatCompletionDbContext db, DateTimeOffset createdBefore, ChatCompletionFilter? filter, int batchSize, CancellationToken cancellationToken)
    {
        var before = createdBefore.ToUniversalTime();
        return db.Completions
            .Matching(db, filter)
            .Where(c => c.Created < before)
            .OrderBy(c => c.Created)
            .ThenBy(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Take(batchSize)
            .ExecuteDeleteAsync(cancellationToken);
    }

    public static async Task<IReadOnlyList<ChatCompletionUsageTotals>> UsageAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, ChatCompletionUsageGrouping? grouping, CancellationToken cancellationToken)
    {
        var query = UsageQuery.Build(db.Tenant, filter, grouping ?? new ChatCompletionUsageGrouping());
        return await db.Database.SqlQueryRaw<ChatCompletionUsageTotals>(query.Sql, query.Parameters)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The keyset page: rows strictly after the position in (created, completion_key) order, never an OFFSET.</summary>
    internal static IQueryable<StoredRow> Page(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, ChatCompletionOrder order, int take)
    {
        var query = db.Completions.AsNoTracking().Matching(db, filter);
        var ascending = order == ChatCompletionOrder.Ascending;
        if (after is { } position)
        {
            var (created, key) = (position.Created, position.Key);
            // A row-value comparison, (created, completion_key) > (@created, @key), which a btree index on those
            // columns serves as one range; spelled as ORs it would not be.
            query = ascending
                ? query.Where(c => EF.Functions.GreaterThan(
                    ValueTuple.Create(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)), ValueTuple.Create(created, key)))
                : query.Where(c => EF.Functions.LessThan(
                    ValueTuple.Create(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)), ValueTuple.Create(created, key)));
        }

        var ordered = ascending
            ? query.OrderBy(c => c.Created).ThenBy(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            : query.OrderByDescending(c => c.Created).ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey));
        // One statement, not a split query: the choices query of a split query repeats the LIMIT as a second
        // statement, and a completion stored in between would shift the window and leave a listed one without choices.
        return ordered.TakeConstant(take).Select(Row).AsSingleQuery();
    }

    /// <summary>
    /// <c>Take(EF.Constant(count))</c>: EF writes the count into the SQL as a literal instead of a parameter. PostgreSQL keeps one plan for a prepared statement (a generic plan)
    /// only when it costs no more than a plan made for the values; with LIMIT unknown, a generic plan over many
    /// partitions always costs more, and every execution would be planned again across every partition. Page sizes are
    /// few (1–101), so they make few statements.
    /// </summary>
    internal static IQueryable<T> TakeConstant<T>(this IQueryable<T> query, int count) =>
        // Take(EF.Constant(count)) as a tree: written as C#, Take's argument would be evaluated before EF saw it.
        query.Provider.CreateQuery<T>(Expression.Call(
            typeof(Queryable), nameof(Queryable.Take), [typeof(T)], query.Expression, Expression.Call(EfConstant, Expression.Constant(count))));

    private static readonly System.Reflection.MethodInfo EfConstant = typeof(EF).GetMethod(nameof(EF.Constant))!.MakeGenericMethod(typeof(int));

    /// <summary>The completions with this vendor id, the one <see cref="ChatCompletionStore.GetAsync"/> returns first.</summary>
    private static IQueryable<ChatCompletion> ById(ChatCompletionDbContext db, string id) =>
        db.Completions
            .AsNoTracking()
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey));

    private static async Task<RowIdentity?> LatestAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken) =>
        (await ById(db, id)
            .Select(c => new RowIdentity(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey), EF.Property<uint>(c, ChatCompletionConfiguration.VersionProperty)))
            .TakeConstant(1)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false)).FirstOrDefault();

    internal sealed record KeysetPosition(DateTimeOffset Created, long Key);

    private sealed record RowIdentity(DateTimeOffset Created, long Key, uint Xmin)
    {
        public string Version => VersionToken.Format(Key, Created, Xmin);
    }

    internal sealed class StoredRow
    {
        public required ChatCompletion Completion { get; init; }

        public required long Key { get; init; }

        public required uint Xmin { get; init; }

        public decimal? Cost { get; init; }

        public string? CostSource { get; init; }

        public bool CostClamped { get; init; }

        public required List<ChatChoice> Choices { get; init; }

        public KeysetPosition Position => new(Completion.Created, Key);

        public ChatCompletion ToCompletion()
        {
            Completion.Choices = Choices;
            return Completion;
        }

        public StoredChatCompletion ToStored() =>
            new(ToCompletion(), VersionToken.Format(Key, Completion.Created, Xmin)) { Cost = ReadCost() };

        public ChatCompletionCost? ReadCost() => CostSources.Read(Cost, CostSource, CostClamped);
    }
}
