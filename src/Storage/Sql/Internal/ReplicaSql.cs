namespace Storage.Internal;

/// <summary>The WAL positions that read-your-writes compares: the primary's after a write, the standby's before a read.</summary>
internal static class ReplicaSql
{
    /// <summary>
    /// On the primary, after a commit: the WAL insert position, which is at or past the end of every record committed
    /// before it (also under <c>synchronous_commit = off</c>, where the written and flushed positions may still be behind),
    /// with the page and segment sizes that <see cref="ReadReplica.EndOfWal"/> needs.
    /// </summary>
    public const string CommitPosition =
        "SELECT pg_current_wal_insert_lsn(), current_setting('wal_block_size')::bigint, pg_size_bytes(current_setting('wal_segment_size'))";

    /// <summary>On the read server: how far it has replayed the primary's WAL; <c>NULL</c> when it is not in recovery (a primary).</summary>
    public const string ReplayPosition = "SELECT pg_last_wal_replay_lsn()";
}
