using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Storage.Api.Tests;

/// <summary>
/// An OpenAI-compatible server on loopback that answers <c>POST /v1/chat/completions</c> with a fixture completion: as it
/// is, or, when the request says <c>"stream": true</c>, as a server-sent event stream of chunks built from it. It records
/// what it was sent.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private FakeUpstream(WebApplication app) => _app = app;

    /// <summary>The base URL as clients configure it, ending in <c>/v1</c>.</summary>
    public Uri BaseUrl => new(_app.Urls.First() + "/v1");

    /// <summary>The completion JSON the next requests are answered with.</summary>
    public string Completion { get; set; } = TestCompletions.Sample;

    /// <summary>
    /// When set, requests are answered with exactly these bytes (which need not be valid UTF-8), as
    /// <c>text/event-stream</c> when the request says <c>"stream": true</c> and as <c>application/json</c> otherwise.
    /// </summary>
    public byte[]? RawAnswer { get; set; }

    /// <summary>When set, requests are answered with this status and an error body instead.</summary>
    public int? FailWith { get; set; }

    /// <summary>How many requests reached it.</summary>
    public int Requests => _requests;

    public string? LastAuthorization { get; private set; }

    /// <summary>The W3C trace context header of the last request.</summary>
    public string? LastTraceparent { get; private set; }

    public string? LastBody { get; private set; }

    /// <summary>The exact bytes of the last stream sent, as text.</summary>
    public string? LastStream { get; private set; }

    public static async Task<FakeUpstream> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new FakeUpstream(app);
        app.MapPost("/v1/chat/completions", upstream.AnswerAsync);
        await app.StartAsync(cancellationToken);
        return upstream;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        LastBody = await reader.ReadToEndAsync(context.RequestAborted);
        LastAuthorization = context.Request.Headers.Authorization.ToString();
        LastTraceparent = context.Request.Headers["traceparent"].ToString();
        var response = context.Response;
        if (FailWith is { } status)
        {
            response.StatusCode = status;
            response.ContentType = "application/json";
            await response.WriteAsync("""{"error":{"message":"upstream says no","type":"invalid_request_error","param":null,"code":"upstream_test"}}""", context.RequestAborted);
            return;
        }

        using var request = JsonDocument.Parse(LastBody);
        var streamed = request.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        if (RawAnswer is { } raw)
        {
            response.ContentType = streamed ? "text/event-stream" : "application/json";
            await response.Body.WriteAsync(raw, context.RequestAborted);
            return;
        }

        if (!streamed)
        {
            response.ContentType = "application/json";
            await response.WriteAsync(Completion, context.RequestAborted);
            return;
        }

        response.ContentType = "text/event-stream";
        var sent = new StringBuilder();
        foreach (var chunk in TestCompletions.ToChunks(Completion))
        {
            var evt = $"data: {chunk}\n\n";
            sent.Append(evt);
            await response.WriteAsync(evt, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);
        }

        sent.Append("data: [DONE]\n\n");
        await response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        LastStream = sent.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
