namespace Storage;

/// <summary>One partition of the completions' or the choices' table, as <see cref="ChatCompletionStore.ListPartitionsAsync"/> lists it.</summary>
/// <param name="Table">The partitioned table: <c>chat_completions</c> or <c>chat_completion_choices</c>.</param>
/// <param name="Name">The partition's table name, e.g. <c>chat_completions_p20261101</c>, or <c>…_default</c>.</param>
/// <param name="From">The first <c>created</c> instant it holds (inclusive); <c>null</c> for the default partition.</param>
/// <param name="To">The end of its range (exclusive); <c>null</c> for the default partition.</param>
/// <param name="IsDefault">Whether it is the default partition, which holds every row no other partition covers.</param>
/// <param name="EstimatedRows">The planner's row count (<c>pg_class.reltuples</c>, kept by autovacuum and <c>ANALYZE</c>); <c>null</c> before the partition was first analyzed.</param>
/// <param name="Bytes">Its size on disk with its indexes and TOAST.</param>
public sealed record ChatCompletionPartition(
    string Table, string Name, DateTimeOffset? From, DateTimeOffset? To, bool IsDefault, long? EstimatedRows, long Bytes);
