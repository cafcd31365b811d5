namespace Storage;

/// <summary>
/// One completion's line of a fine-tuning or evaluation export (<see cref="ChatCompletionStore.ExportFineTuningAsync"/>,
/// <see cref="ChatCompletionStore.ExportEvalAsync"/>), or why it has none.
/// </summary>
/// <param name="CompletionId">The completion's vendor id.</param>
/// <param name="Json">The line, one JSON object without a line break; <c>null</c> when the completion was skipped.</param>
/// <param name="Skipped">Why the completion has no line (no stored request, no messages in it, nothing the assistant said); <c>null</c> when it has one.</param>
public sealed record ChatCompletionExportLine(string CompletionId, string? Json, string? Skipped);
