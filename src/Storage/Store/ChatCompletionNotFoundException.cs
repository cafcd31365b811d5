namespace Storage;

/// <summary>
/// No stored completion has the vendor id that an operation needs: the id to update, or the <c>after</c> cursor of a
/// list (OpenAI answers both with a 404 <c>not_found</c> error).
/// </summary>
public sealed class ChatCompletionNotFoundException : ChatCompletionStoreException
{
    /// <summary>Creates the exception.</summary>
    public ChatCompletionNotFoundException(string id, string parameterName)
        : base($"No stored completion has the id passed as '{parameterName}'.")
    {
        Id = id;
        ParameterName = parameterName;
    }

    /// <summary>The vendor id that was not found.</summary>
    public string Id { get; }

    /// <summary>The parameter that carried the id, such as <c>after</c> or <c>id</c>.</summary>
    public string ParameterName { get; }
}
