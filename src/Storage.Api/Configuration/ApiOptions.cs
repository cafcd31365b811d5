namespace Storage.Api.Configuration;

/// <summary>The <c>Api</c> configuration section.</summary>
internal sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>The largest request body accepted, in bytes; larger ones get a 413. 32 MiB by default.</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>The accepted bearer keys; none means anonymous access, allowed only while every listening address is loopback.</summary>
    public IList<ApiKeyOptions> Keys { get; } = [];

    /// <summary>The OpenAI-compatible server that <c>POST /v1/chat/completions</c> forwards to.</summary>
    public UpstreamOptions Upstream { get; set; } = new();
}
