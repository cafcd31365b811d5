namespace Storage;

/// <summary>
/// The store could not complete an operation. The provider's exception, if any, is the inner exception;
/// its message holds no parameter values or completion content.
/// </summary>
public class ChatCompletionStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChatCompletionStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>Whether retrying the same operation may succeed (a dropped connection, a failover, a serialization failure).</summary>
    public bool IsTransient { get; init; }
}
