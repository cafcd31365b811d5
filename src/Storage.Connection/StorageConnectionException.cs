namespace Storage.Connection;

/// <summary>No database could be found or reached; the message says why and what to do, on one line.</summary>
public sealed class StorageConnectionException : Exception
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public StorageConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message for the user and the failure behind it.</summary>
    public StorageConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
