namespace Storage;

/// <summary>What saving a completion did.</summary>
public enum SaveOutcome
{
    /// <summary>The completion and its choices were committed.</summary>
    Stored,

    /// <summary>An identical completion (same content, including metadata as first saved) was already stored; nothing was written.</summary>
    AlreadyStored,
}
