namespace Storage;

/// <summary>Audio output of a message.</summary>
public sealed class ChatAudio : WireObject
{
    /// <summary>The audio response's id.</summary>
    public string? Id { get; set; }

    /// <summary>The audio as base64 (can be hundreds of kilobytes).</summary>
    public string? Data { get; set; }

    /// <summary>When the audio expires at the vendor, as Unix seconds.</summary>
    public long? ExpiresAt { get; set; }

    /// <summary>The transcript of the audio.</summary>
    public string? Transcript { get; set; }
}
