namespace Storage.Api.Configuration;

/// <summary>The <c>Api:Upstream</c> section: where the recording proxy forwards chat-completion requests.</summary>
internal sealed class UpstreamOptions
{
    /// <summary>The upstream's base URL including its version segment, e.g. <c>https://api.openai.com/v1</c>; none turns the proxy off.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The key sent to the upstream as <c>Authorization: Bearer</c>; the caller's own key is never forwarded.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Store every successful response, not only those whose request says <c>"store": true</c>.</summary>
    public bool StoreAll { get; set; }
}
