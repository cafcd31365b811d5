namespace Storage.Api.Configuration;

/// <summary>One item of <c>Api:Keys</c>: a key in clear or as a SHA-256 hash, and the tenant it is scoped to.</summary>
internal sealed class ApiKeyOptions
{
    /// <summary>The key itself, as callers send it after <c>Bearer </c>.</summary>
    public string? Key { get; set; }

    /// <summary>The lowercase or uppercase hex SHA-256 of the key's UTF-8 bytes (64 digits), so the key need not sit in the configuration.</summary>
    public string? KeyHash { get; set; }

    /// <summary>The tenant whose completions this key sees and writes; none for the default store.</summary>
    public string? Tenant { get; set; }
}
