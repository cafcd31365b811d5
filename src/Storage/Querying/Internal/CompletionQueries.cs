using System.Collections.Concurrent;
using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;

namespace Storage.Internal;

/// <summary>
/// The queries behind the store's list, export, update, delete and usage members. Each takes the context to run on,
/// so tests can run them on a context that records the SQL.
/// </summary>
internal static class CompletionQueries
{
    public const int MaxLimit = 100;

    // The completion with its shadow key, version and cost, which a no-tracking entity would lose.
    private static readonly Expression<Func<ChatCompletion, StoredRow>> Head = c => new StoredRow
    {
        Completion = c,
        Key = EF.Property<long>(c, ShadowProperties.CompletionKey),
        Xmin = EF.Property<uint>(c, ChatCompletionConfiguration.VersionProperty),
        Cost = EF.Property<decimal?>(c, ShadowProperties.Cost),
        CostSource = EF.Property<string?>(c, ShadowProperties.CostSource),
        CostClamped = EF.Property<bool>(c, ShadowProperties.CostClamped),
    };

    // The head with its choices, projected beside the completion rather than included (which would lose the head's
    // shadow values): Head's bindings and one more.
    private static readonly Expression<Func<ChatCompletion, StoredRow>> Row = WithChoices(Head);

    private static Expression<Func<ChatCompletion, StoredRow>> WithChoices(Expression<Func<ChatCompletion, StoredRow>> head)
    {
        Expression<Func<ChatCompletion, List<ChatChoice>>> choices = c => c.Choices.OrderBy(choice => choice.Index).ToList();
        var body = (MemberInitExpression)head.Body;
        var bound = ReplacingExpressionVisitor.Replace(choices.Parameters[0], head.Parameters[0], choices.Body);
        return head.Update(
            body.Update(body.NewExpression, [.. body.Bindings, Expression.Bind(typeof(StoredRow).GetProperty(nameof(StoredRow.Choices))!, bound)]),
            head.Parameters);
    }

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
        var rows = await PageAsync(db, filter, position, order, limit + 1, cancellationToken).ConfigureAwait(false);
        var hasMore = rows.Count > limit;
        var page = rows.Take(limit).ToList();
        return new ChatCompletionPage(page.Select(row => row.ToCompletion()).ToList(), hasMore) { Costs = page.Select(row => row.ReadCost()).ToList() };
    }

    public static Task<List<StoredRow>> ExportBatchAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, int batchSize, CancellationToken cancellationToken) =>
        PageAsync(db, filter, after, ChatCompletionOrder.Ascending, batchSize, cancellationToken);

    /// <summary>The completion <see cref="ChatCompletionStore.GetAsync"/> returns for the id (the most recently stored of those sharing it), or <c>null</c>.</summary>
    public static async Task<StoredRow?> GetStoredAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken)
    {
        if (db.OnCitus)
        {
            return (await WithChoicesAsync(db, ById(db, id).TakeConstant(1), cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        }

        await foreach (var row in LatestWithId(db, id).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            return row;
        }

        return null;
    }

    /// <summary>Every completion with the id, most recently stored first (<see cref="ChatCompletionStore.FindAsync(string, CancellationToken)"/>).</summary>
    public static Task<List<StoredRow>> FindStoredAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken) =>
        db.OnCitus ? WithChoicesAsync(db, ById(db, id), cancellationToken) : AllWithId(db, id).ToListAsync(cancellationToken).AsTask();

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

        // By the primary key, so on Citus the whole statement is routed to the one shard that holds the row.
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
        LatestCall(db, id).ToListAsync(cancellationToken).AsTask();

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
        var query = UsageQuery.Build(db.Tenant, db.OnCitus, filter, grouping ?? new ChatCompletionUsageGrouping());
        return await db.Database.SqlQueryRaw<ChatCompletionUsageTotals>(query.Sql, query.Parameters)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The keyset page: rows strictly after the position in (created, completion_key) order, never an OFFSET. A filter of
    /// only model, metadata and created range (OpenAI's list, a time window, exports) runs a compiled query; any other
    /// condition, and every page on Citus, the LINQ query that <see cref="CompletionFilters.Matching"/> builds.
    /// </summary>
    private static Task<List<StoredRow>> PageAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, ChatCompletionOrder order, int take, CancellationToken cancellationToken)
    {
        if (db.OnCitus || !FilterValues.OnlyModelMetadataAndCreated(filter))
        {
            return FilteredPageAsync(db, filter, after, order, take, cancellationToken);
        }

        var query = Pages.GetOrAdd((order == ChatCompletionOrder.Ascending, take), static key => CompilePage(key.Ascending, key.Take));
        return query(
                db,
                filter?.Model,
                FilterValues.ContainedMetadata(filter),
                filter?.CreatedFrom?.ToUniversalTime(),
                filter?.CreatedTo?.ToUniversalTime(),
                after?.Created,
                after?.Key ?? 0)
            .ToListAsync(cancellationToken)
            .AsTask();
    }

    /// <summary>
    /// A page under any filter (or none). With a search, first the next <see cref="SearchWindow"/> completions under the other
    /// conditions are asked one by one (<see cref="CompletionFilters.SearchingRowByRow"/>): when they hold a full page,
    /// it is the page, since every match beyond them comes later in the order. A common term is found so within the first
    /// rows walked; a rarer one falls through to the search of the whole table (through the trigram indexes when on),
    /// whose matches are few enough to sort. The window is bounded by its last row's position, found first, rather than
    /// read as a subquery with a LIMIT: Citus refuses a correlated subquery over such a subquery. That position is the one
    /// OFFSET the store sends, a fixed 999 rows into the index walk; pages themselves continue by keyset.
    /// </summary>
    private static async Task<List<StoredRow>> FilteredPageAsync(
        ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, ChatCompletionOrder order, int take, CancellationToken cancellationToken)
    {
        if (filter is not null && FilterValues.CanMatch(filter) && FilterValues.Searched(filter) is { } search)
        {
            var others = MatchingAfter(db, filter with { Search = null }, after, order);
            var edge = (await Ordered(others, order)
                .Select(c => new KeysetPosition(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)))
                .SkipConstant(SearchWindow - 1)
                .TakeConstant(1)
                .ToListAsync(cancellationToken)
                .ConfigureAwait(false)).FirstOrDefault();
            var window = edge is null ? others : Until(others, edge, order);
            var newest = await WithChoicesAsync(
                db, Ordered(window.Where(CompletionFilters.SearchingRowByRow(db, FilterValues.LikePattern(search))), order).TakeConstant(take), cancellationToken)
                .ConfigureAwait(false);
            // Without an edge the window held every remaining completion, so what it found is the whole answer.
            if (newest.Count == take || edge is null)
            {
                return newest;
            }
        }

        return await WithChoicesAsync(db, Ordered(MatchingAfter(db, filter, after, order), order).TakeConstant(take), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The completions up to and including the position in the order.</summary>
    private static IQueryable<ChatCompletion> Until(IQueryable<ChatCompletion> query, KeysetPosition edge, ChatCompletionOrder order)
    {
        var (created, key) = (edge.Created, edge.Key);
        return order == ChatCompletionOrder.Ascending
            ? query.Where(c => EF.Functions.LessThanOrEqual(
                ValueTuple.Create(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)), ValueTuple.Create(created, key)))
            : query.Where(c => EF.Functions.GreaterThanOrEqual(
                ValueTuple.Create(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)), ValueTuple.Create(created, key)));
    }

    /// <summary>How many completions a search page asks one by one before it searches the whole table.</summary>
    internal const int SearchWindow = 1000;

    /// <summary>
    /// The completions a query selects (ordered, usually with a LIMIT), each with its choices, in the query's order.
    /// <para>On one node, one statement: the completions as a subquery with the LIMIT, joined to their choices. Not a
    /// split query: its choices query repeats the LIMIT as a second statement, and a completion stored in between would
    /// shift the window and leave a listed one without choices.</para>
    /// <para>On Citus that statement would cost as much as the tenant's choices: Citus cannot push a join of a LIMIT
    /// subquery down to the shards, so it fetches every choice to the coordinator to join them there. So the query first
    /// reads only the selected completions' keys and created times, which each shard answers with its own ORDER BY and
    /// LIMIT; then the choices with those keys, then the completions, each routed by the key (the distribution column)
    /// to the shards that hold it. Not as a join: under row-level security the tenant conditions make a one-time filter,
    /// which Citus refuses in an outer join on PostgreSQL 15 and 16, and an inner join would lose a completion without
    /// choices. Choices are never changed, only stored and deleted with their completion; read before it, a completion
    /// deleted in between is left out of the page, never read without its choices.</para>
    /// </summary>
    private static async Task<List<StoredRow>> WithChoicesAsync(ChatCompletionDbContext db, IQueryable<ChatCompletion> selected, CancellationToken cancellationToken)
    {
        if (!db.OnCitus)
        {
            return await selected.Select(Row).AsSingleQuery().ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        var positions = await selected
            .Select(c => new KeysetPosition(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)))
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false);
        if (positions.Count == 0)
        {
            return [];
        }

        var keys = positions.Select(position => position.Key).Distinct().ToArray();
        var (from, to) = (positions.Min(position => position.Created), positions.Max(position => position.Created));
        var choices = (await db.Choices
            .AsNoTracking()
            .Where(h => keys.Contains(EF.Property<long>(h, ShadowProperties.CompletionKey))
                && EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated) >= from
                && EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated) <= to)
            .Select(h => new
            {
                Position = new KeysetPosition(EF.Property<DateTimeOffset>(h, ShadowProperties.CompletionCreated), EF.Property<long>(h, ShadowProperties.CompletionKey)),
                Choice = h,
            })
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false))
            .ToLookup(h => h.Position, h => h.Choice);
        var rows = (await db.Completions
            .AsNoTracking()
            .Where(c => keys.Contains(EF.Property<long>(c, ShadowProperties.CompletionKey)) && c.Created >= from && c.Created <= to)
            .Select(Head)
            .ToListAsync(cancellationToken)
            .ConfigureAwait(false))
            .ToDictionary(row => row.Position);
        var page = new List<StoredRow>(positions.Count);
        foreach (var position in positions)
        {
            if (rows.TryGetValue(position, out var row))
            {
                row.Choices = [.. choices[position].OrderBy(choice => choice.Index)];
                page.Add(row);
            }
        }

        return page;
    }

    /// <summary>The completions matching the filter strictly after the keyset position, in no order yet.</summary>
    private static IQueryable<ChatCompletion> MatchingAfter(ChatCompletionDbContext db, ChatCompletionFilter? filter, KeysetPosition? after, ChatCompletionOrder order)
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

        return query;
    }

    private static IQueryable<ChatCompletion> Ordered(IQueryable<ChatCompletion> query, ChatCompletionOrder order) =>
        order == ChatCompletionOrder.Ascending
            ? query.OrderBy(c => c.Created).ThenBy(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            : query.OrderByDescending(c => c.Created).ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey));

    /// <summary>
    /// <c>Take(EF.Constant(count))</c>: EF writes the count into the SQL as a literal instead of a parameter. PostgreSQL keeps one plan for a prepared statement (a generic plan)
    /// only when it costs no more than a plan made for the values; with LIMIT unknown, a generic plan over many
    /// partitions always costs more, and every execution would be planned again across every partition. Page sizes are
    /// few (1–101), so they make few statements.
    /// </summary>
    private static IQueryable<T> TakeConstant<T>(this IQueryable<T> query, int count) => WithConstant(query, nameof(Queryable.Take), count);

    /// <summary><c>Skip(EF.Constant(count))</c>, for the same reason as <see cref="TakeConstant"/>.</summary>
    private static IQueryable<T> SkipConstant<T>(this IQueryable<T> query, int count) => WithConstant(query, nameof(Queryable.Skip), count);

    // Take or Skip of EF.Constant(count) as a tree: written as C#, the argument would be evaluated before EF saw it.
    private static IQueryable<T> WithConstant<T>(IQueryable<T> query, string method, int count) =>
        query.Provider.CreateQuery<T>(Expression.Call(
            typeof(Queryable), method, [typeof(T)], query.Expression, Expression.Call(EfConstant, Expression.Constant(count))));

    private static readonly System.Reflection.MethodInfo EfConstant = typeof(EF).GetMethod(nameof(EF.Constant))!.MakeGenericMethod(typeof(int));

    // Compiled queries for the reads that run most: get by id and the pages of OpenAI's list. For a LINQ query, EF walks
    // the expression tree on every call to take out its parameters and find its cached translation, which measured about
    // 0.5 ms a call on the development machine, as much as the database's own work for a get by id; a compiled query
    // does it once. Their conditions are those of CompletionFilters.Matching, each written so that EF leaves out the
    // ones whose parameter is null (it keeps one SQL text per combination of null parameters), which QuerySqlTests check.
    private static readonly Func<ChatCompletionDbContext, string, IAsyncEnumerable<StoredRow>> LatestWithId = EF.CompileAsyncQuery(
        (ChatCompletionDbContext db, string id) => db.Completions
            .AsNoTracking()
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Take(1)
            .Select(Row)
            .AsSingleQuery());

    private static readonly Func<ChatCompletionDbContext, string, IAsyncEnumerable<RowIdentity>> LatestIdentity = EF.CompileAsyncQuery(
        (ChatCompletionDbContext db, string id) => db.Completions
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Select(c => new RowIdentity(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey), EF.Property<uint>(c, ChatCompletionConfiguration.VersionProperty)))
            .Take(1));

    private static readonly Func<ChatCompletionDbContext, string, IAsyncEnumerable<ChatCompletionCall?>> LatestCall = EF.CompileAsyncQuery(
        (ChatCompletionDbContext db, string id) => db.Completions
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Select(c => c.Call)
            .Take(1));

    private static readonly Func<ChatCompletionDbContext, string, IAsyncEnumerable<StoredRow>> AllWithId = EF.CompileAsyncQuery(
        (ChatCompletionDbContext db, string id) => db.Completions
            .AsNoTracking()
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Select(Row)
            .AsSingleQuery());

    // One compiled page query per order and page size: the size is a literal in the SQL (see TakeConstant). Sizes are
    // the list's 2–101 and the export's batch, so few are made.
    private static readonly ConcurrentDictionary<(bool Ascending, int Take), PageQuery> Pages = new();

    private delegate IAsyncEnumerable<StoredRow> PageQuery(
        ChatCompletionDbContext db, string? model, string? metadata, DateTimeOffset? from, DateTimeOffset? to, DateTimeOffset? afterCreated, long afterKey);

    private static PageQuery CompilePage(bool ascending, int take) =>
        new(EF.CompileAsyncQuery((Expression<Func<ChatCompletionDbContext, string?, string?, DateTimeOffset?, DateTimeOffset?, DateTimeOffset?, long, IQueryable<StoredRow>>>)
            new PageWriter(take, descending: !ascending).Visit(AscendingPage)));

    // The page query oldest first; PageWriter makes the newest-first one from it and puts in the page size.
    private static readonly Expression<Func<ChatCompletionDbContext, string?, string?, DateTimeOffset?, DateTimeOffset?, DateTimeOffset?, long, IQueryable<StoredRow>>> AscendingPage =
        (db, model, metadata, from, to, afterCreated, afterKey) => db.Completions
            .AsNoTracking()
            .Where(c => (model == null || c.Model == model)
                && (metadata == null || EF.Functions.JsonContains(c.Metadata!, metadata))
                && (from == null || c.Created >= from)
                && (to == null || c.Created <= to)
                && (afterCreated == null || EF.Functions.GreaterThan(
                    ValueTuple.Create(c.Created, EF.Property<long>(c, ShadowProperties.CompletionKey)), ValueTuple.Create(afterCreated.Value, afterKey))))
            .OrderBy(c => c.Created)
            .ThenBy(c => EF.Property<long>(c, ShadowProperties.CompletionKey))
            .Take(PageSize)
            .Select(Row)
            .AsSingleQuery();

    // Stands for the page size in AscendingPage, where PageWriter puts the size itself: a compiled query keeps literals
    // as literals, and EF.Constant is not allowed in one.
    private static int PageSize => throw new InvalidOperationException("Replaced by the page size before compiling.");

    /// <summary>Writes the page size into the page query and, for newest first, reverses its order and its keyset comparison.</summary>
    private sealed class PageWriter(int take, bool descending) : ExpressionVisitor
    {
        private static readonly System.Reflection.PropertyInfo PageSizeProperty =
            typeof(CompletionQueries).GetProperty(nameof(PageSize), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

        protected override Expression VisitMember(MemberExpression node) =>
            node.Member == PageSizeProperty ? Expression.Constant(take) : base.VisitMember(node);

        protected override Expression VisitMethodCall(MethodCallExpression node)
        {
            var call = (MethodCallExpression)base.VisitMethodCall(node);
            var reversed = call.Method.Name switch
            {
                nameof(Queryable.OrderBy) => nameof(Queryable.OrderByDescending),
                nameof(Queryable.ThenBy) => nameof(Queryable.ThenByDescending),
                "GreaterThan" => "LessThan", // EF.Functions.GreaterThan of the row values, (created, completion_key)
                _ => null,
            };
            if (!descending || reversed is null)
            {
                return call;
            }

            var method = call.Method.DeclaringType!.GetMethods()
                .Single(m => m.Name == reversed && m.GetParameters().Length == call.Arguments.Count && m.IsGenericMethodDefinition == call.Method.IsGenericMethod);
            method = method.IsGenericMethodDefinition ? method.MakeGenericMethod(call.Method.GetGenericArguments()) : method;
            return Expression.Call(method, call.Arguments);
        }
    }

    /// <summary>The completions with this vendor id, the one <see cref="ChatCompletionStore.GetAsync"/> returns first.</summary>
    private static IQueryable<ChatCompletion> ById(ChatCompletionDbContext db, string id) =>
        db.Completions
            .AsNoTracking()
            .Where(c => c.Id == id)
            .OrderByDescending(c => EF.Property<DateTimeOffset>(c, ShadowProperties.StoredAt))
            .ThenByDescending(c => EF.Property<long>(c, ShadowProperties.CompletionKey));

    private static async Task<RowIdentity?> LatestAsync(ChatCompletionDbContext db, string id, CancellationToken cancellationToken)
    {
        await foreach (var identity in LatestIdentity(db, id).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            return identity;
        }

        return null;
    }

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

        public List<ChatChoice> Choices { get; set; } = [];

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
