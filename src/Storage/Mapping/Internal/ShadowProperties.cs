namespace Storage.Internal;

/// <summary>Names of the EF shadow properties: storage keys that are not part of the wire format.</summary>
internal static class ShadowProperties
{
    /// <summary>The surrogate key of a completion, derived from its content hash.</summary>
    public const string CompletionKey = "CompletionKey";

    /// <summary>SHA-256 of the completion's canonical JSON, to tell a replay from a key collision.</summary>
    public const string ContentHash = "ContentHash";

    /// <summary>When the row was stored (server clock), to pick the latest of completions sharing a vendor id.</summary>
    public const string StoredAt = "StoredAt";

    /// <summary>The tenant that owns the row; <c>""</c> when the store is not scoped to a tenant.</summary>
    public const string Tenant = "Tenant";

    /// <summary>A choice's copy of its completion's <c>created</c>, part of the foreign key so both tables can be partitioned by it.</summary>
    public const string CompletionCreated = "CompletionCreated";

    /// <summary>The completion's cost in US dollars (<c>numeric</c>); <c>null</c> when unpriced.</summary>
    public const string Cost = "Cost";

    /// <summary>Where the cost comes from: <c>prices</c> or <c>reported</c>; <c>null</c> when unpriced.</summary>
    public const string CostSource = "CostSource";

    /// <summary>Whether the usage was clamped before pricing.</summary>
    public const string CostClamped = "CostClamped";
}
