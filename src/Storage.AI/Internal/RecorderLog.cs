using Microsoft.Extensions.Logging;

namespace Storage.AI.Internal;

// Only types, field names and rules are logged: never content, metadata values or connection details.
internal static partial class RecorderLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "A chat completion could not be recorded ({ErrorType}); the call itself succeeded.")]
    public static partial void RecordFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "A chat completion was rejected by the store: '{Field}' broke {Rule}; the call itself succeeded.")]
    public static partial void RecordRejected(ILogger logger, string field, ChatCompletionValidationRule rule);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "The exact response was not captured ({Reason}); the completion is recorded from the client's objects.")]
    public static partial void NotCaptured(ILogger logger, string reason);
}
