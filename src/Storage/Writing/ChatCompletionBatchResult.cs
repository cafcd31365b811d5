namespace Storage;

/// <summary>What became of one line of an OpenAI Batch API output file (<see cref="ChatCompletionStore.ImportBatchAsync"/>).</summary>
/// <param name="Line">The line's number in the output file, from 1.</param>
/// <param name="CustomId">The line's <c>custom_id</c>; <c>null</c> when the line could not be read that far.</param>
/// <param name="Outcome">Stored or already stored; <c>null</c> when the line was skipped.</param>
/// <param name="Error">
/// Why the line was skipped: the request failed (its <c>error</c>, or a status other than 200), no input line has its
/// <c>custom_id</c>, or the line or its completion is malformed (then the validator's message naming the field);
/// <c>null</c> when stored.
/// </param>
public sealed record ChatCompletionBatchResult(long Line, string? CustomId, SaveOutcome? Outcome, string? Error);
