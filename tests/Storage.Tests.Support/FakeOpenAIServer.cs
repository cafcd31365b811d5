using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Storage.Tests.Support;

/// <summary>
/// An OpenAI-compatible vendor on a loopback port: <c>POST /v1/chat/completions</c> answers with <see cref="Completion"/>
/// as it is, or, when the request says <c>"stream": true</c>, as server-sent events of the chunks
/// <see cref="CompletionChunks.Of"/> cuts it into, ending with <c>data: [DONE]</c>. It records what it was sent, can fail
/// with a status, and can stall a stream after some chunks, as a slow vendor would, until the client goes away.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeOpenAIServer(WebApplication app) => _app = app;

    /// <summary>The base URL as clients configure it, ending in <c>/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The completion JSON the next requests are answered with.</summary>
    public string Completion { get; set; } = TestCompletions.Sample;

    /// <summary>
    /// When set, requests are answered with exactly these bytes (which need not be valid UTF-8), as
    /// <c>text/event-stream</c> when the request says <c>"stream": true</c> and as <c>application/json</c> otherwise.
    /// </summary>
    public byte[]? RawAnswer { get; set; }

    /// <summary>When set, requests are answered with this status and an error body in OpenAI's shape instead.</summary>
    public int? FailWith { get; set; }

    /// <summary>When set, a stream sends this many chunks and then stalls until the client disconnects.</summary>
    public int? StallAfterChunks { get; set; }

    /// <summary>Signalled when a stalled stream's client went away.</summary>
    public TaskCompletionSource ClientLeft { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request bodies received, in order, as sent.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The body of the last request.</summary>
    public string? LastBody { get; private set; }

    /// <summary>The Authorization header of the last request.</summary>
    public string? LastAuthorization { get; private set; }

    /// <summary>The W3C trace context header of the last request.</summary>
    public string? LastTraceparent { get; private set; }

    /// <summary>The exact bytes of the last stream sent to the end, as text.</summary>
    public string? LastStream { get; private set; }

    public static async Task<FakeOpenAIServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", server.AnswerAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseUrl = new Uri(address + "/v1");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task AnswerAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        LastBody = body;
        LastAuthorization = context.Request.Headers.Authorization.ToString();
        LastTraceparent = context.Request.Headers["traceparent"].ToString();
        Requests.Enqueue(body);
        var response = context.Response;
        if (FailWith is { } status)
        {
            response.StatusCode = status;
            response.ContentType = "application/json";
            await response.WriteAsync("""{"error":{"message":"upstream says no","type":"invalid_request_error","param":null,"code":"upstream_test"}}""", context.RequestAborted);
            return;
        }

        var completion = Completion;
        var streamed = JsonNode.Parse(body)?["stream"]?.GetValue<bool>() == true;
        if (RawAnswer is { } raw)
        {
            response.ContentType = streamed ? "text/event-stream" : "application/json";
            await response.Body.WriteAsync(raw, context.RequestAborted);
            return;
        }

        if (!streamed)
        {
            response.ContentType = "application/json";
            await response.WriteAsync(completion, context.RequestAborted);
            return;
        }

        response.ContentType = "text/event-stream";
        var sent = new StringBuilder();
        var chunks = 0;
        foreach (var chunk in CompletionChunks.Of(JsonNode.Parse(completion)!.AsObject()))
        {
            if (chunks++ == StallAfterChunks)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    ClientLeft.TrySetResult();
                }

                return;
            }

            var data = $"data: {chunk.ToJsonString()}\n\n";
            sent.Append(data);
            await response.WriteAsync(data, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);
        }

        sent.Append("data: [DONE]\n\n");
        await response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        LastStream = sent.ToString();
    }
}
