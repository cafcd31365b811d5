using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace Storage.Internal;

/// <summary>
/// The read data source of a store (a streaming standby, or a multi-host source that prefers standbys), shared by the store
/// and its tenant views. A read runs there unless the standby failed recently or, with read-your-writes, has not replayed
/// the store's last write within the configured wait; the store then reads the primary. Its contexts never retry: falling
/// back to the primary is the retry, and a failure clears only this source's pool, never the primary's.
/// </summary>
internal sealed class ReadReplica
{
    /// <summary>How long reads skip a standby that could not be reached, so that each does not pay for the failure again.</summary>
    internal static readonly TimeSpan UnavailablePause = TimeSpan.FromSeconds(5);

    private const ulong ShortPageHeader = 24;
    private const ulong LongPageHeader = 40;
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(50);

    private readonly bool _readYourWrites;
    private readonly TimeSpan _wait;
    // The highest primary WAL position noted after an operation on the primary; 0 before any.
    private ulong _lastWrite;
    // Failures to note a position are numbered; a later position covers them only if it was read after the last of them.
    private long _failures;
    private long _unnotedFailure;
    private long _unavailableUntil;

    public ReadReplica(NpgsqlDataSource dataSource, ChatCompletionStoreOptions options)
    {
        DataSource = dataSource;
        Contexts = new PooledDbContextFactory<ChatCompletionDbContext>(
            StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), dataSource, options, retry: false).Options);
        _readYourWrites = options.ReadYourWrites;
        _wait = options.ReadYourWritesTimeout;
    }

    public NpgsqlDataSource DataSource { get; }

    private PooledDbContextFactory<ChatCompletionDbContext> Contexts { get; }

    /// <summary>
    /// Where the WAL of everything written before <paramref name="insert"/> was read ends, as a standby reports replay. An
    /// insert position at the start of a page points past the page's header, but a standby that replayed the record which
    /// filled the previous page reports the page boundary, and would seem one header short until the next write.
    /// </summary>
    public static ulong EndOfWal(ulong insert, ulong blockSize, ulong segmentSize) =>
        insert % segmentSize == LongPageHeader ? insert - LongPageHeader
        : insert % blockSize == ShortPageHeader ? insert - ShortPageHeader
        : insert;

    /// <summary>With read-your-writes, notes the primary's WAL position after an operation on it has committed.</summary>
    public async Task NoteWriteAsync(NpgsqlDataSource primary, CancellationToken cancellationToken)
    {
        if (!_readYourWrites)
        {
            return;
        }

        var failuresBefore = Volatile.Read(ref _failures);
        try
        {
            await using var command = primary.CreateCommand(ReplicaSql.CommitPosition);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var position = EndOfWal(
                (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(0), (ulong)reader.GetInt64(1), (ulong)reader.GetInt64(2));
            RaiseTo(ref _lastWrite, position);
            var unnoted = Volatile.Read(ref _unnotedFailure);
            if (unnoted != 0 && unnoted <= failuresBefore)
            {
                Interlocked.CompareExchange(ref _unnotedFailure, 0, unnoted);
            }
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            // The write itself committed and must not be reported as failed; until a later position is noted, reads go
            // to the primary, which has it.
            RaiseTo(ref _unnotedFailure, Interlocked.Increment(ref _failures));
        }
    }

    /// <summary>Runs a read on the standby; <c>Served</c> is false when the caller must read the primary instead.</summary>
    public async Task<(bool Served, T? Result)> TryReadAsync<T>(
        TenantClaim claim, CitusDetection citus, Func<ChatCompletionDbContext, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var activity = Activity.Current;
        if (Stopwatch.GetTimestamp() < Volatile.Read(ref _unavailableUntil))
        {
            return Primary<T>(activity, "unavailable");
        }

        var target = 0UL;
        if (_readYourWrites)
        {
            if (Volatile.Read(ref _unnotedFailure) != 0)
            {
                return Primary<T>(activity, "unknown_write_position");
            }

            target = Volatile.Read(ref _lastWrite);
        }

        try
        {
            await using var db = await Contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            db.Claim = claim;
            if (target > 0 && !await HasReplayedAsync(db, target, cancellationToken).ConfigureAwait(false))
            {
                return Primary<T>(activity, "lagging");
            }

            db.OnCitus = await citus.IsCitusAsync(db, cancellationToken).ConfigureAwait(false);
            var result = await operation(db, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("storage.read.source", "standby");
            return (true, result);
        }
        catch (Exception e) when (StoreErrors.IsProviderFailure(e) && !cancellationToken.IsCancellationRequested)
        {
            if (IsUnavailable(e))
            {
                Volatile.Write(ref _unavailableUntil, Stopwatch.GetTimestamp() + (long)(UnavailablePause.TotalSeconds * Stopwatch.Frequency));
            }

            activity?.AddEvent(new ActivityEvent("storage.read.standby_failed", tags: new ActivityTagsCollection { ["exception.type"] = e.GetType().FullName }));
            return Primary<T>(activity, IsUnavailable(e) ? "unavailable" : "failed");
        }
    }

    private async Task<bool> HasReplayedAsync(ChatCompletionDbContext db, ulong target, CancellationToken cancellationToken)
    {
        // Opened here, the connection stays open for the read that follows, so both run on the same server (a multi-host
        // source may hold several standbys, each at its own position).
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(ReplicaSql.ReplayPosition, (NpgsqlConnection)db.Database.GetDbConnection());
        var deadline = Stopwatch.GetTimestamp() + (long)(_wait.TotalSeconds * Stopwatch.Frequency);
        var pause = FirstPoll;
        while (true)
        {
            // NULL: a server not in recovery (a primary, which a prefer-standby source falls back to) has every commit.
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not NpgsqlLogSequenceNumber replayed
                || (ulong)replayed >= target)
            {
                return true;
            }

            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await Task.Delay(pause < left ? pause : left, cancellationToken).ConfigureAwait(false);
            pause = pause * 2 < LongestPoll ? pause * 2 : LongestPoll;
        }
    }

    private static (bool, T?) Primary<T>(Activity? activity, string reason)
    {
        activity?.SetTag("storage.read.source", "primary");
        activity?.SetTag("storage.read.fallback", reason);
        return (false, default);
    }

    // A server that cannot be reached or will not take work (down, starting, shutting down, out of connections) is
    // skipped for a while; an error of one query (such as a conflict with recovery) sends only that read to the primary.
    private static bool IsUnavailable(Exception e)
    {
        var npgsql = e as NpgsqlException ?? e.InnerException as NpgsqlException ?? e.InnerException?.InnerException as NpgsqlException;
        return npgsql is not PostgresException postgres
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal);
    }

    private static void RaiseTo(ref ulong location, ulong value)
    {
        var current = Volatile.Read(ref location);
        while (current < value)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static void RaiseTo(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (current < value)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
