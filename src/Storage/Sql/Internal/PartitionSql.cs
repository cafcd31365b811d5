namespace Storage.Internal;

/// <summary>
/// The calls into the schema's partition functions (see the <c>Baseline</c> migration): they make and drop partitions
/// as the schema's owner, so the application role needs no DDL privilege.
/// </summary>
internal static class PartitionSql
{
    public const string Ensure = "SELECT storage_ensure_partitions(@months_ahead)";

    public const string DropBefore = "SELECT storage_drop_partitions_before(@cutoff, coalesce(@not_before, '-infinity'))";

    public const string List =
        "SELECT parent, partition, range_from, range_to, is_default, estimated_rows, total_bytes FROM storage_partitions()";
}
