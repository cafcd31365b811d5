using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Storage.AI.Tests;

/// <summary>
/// An OpenAI-compatible vendor on a loopback port: <c>POST /v1/chat/completions</c> answers with the body it was given,
/// or, for <c>"stream": true</c>, with that body cut into SSE chunks. A stream can be told to stall after some chunks,
/// as a slow vendor would, until the client goes away.
/// </summary>
public sealed class FakeVendor : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeVendor(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The completion body to answer with.</summary>
    public string Body { get; set; } = "";

    /// <summary>When set, a stream sends this many chunks and then stalls until the client disconnects.</summary>
    public int? StallAfterChunks { get; set; }

    /// <summary>The request bodies received, in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>Signalled when a stalled stream's client went away.</summary>
    public TaskCompletionSource ClientLeft { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<FakeVendor> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var vendor = new FakeVendor(app);
        app.MapPost("/v1/chat/completions", vendor.AnswerAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        vendor.Endpoint = new Uri(address + "/v1");
        return vendor;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsObject();
        Requests.Enqueue(request);
        if (request["stream"]?.GetValue<bool>() != true)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Body, context.RequestAborted);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var sent = 0;
        foreach (var chunk in CompletionChunks.Of(JsonNode.Parse(Body)!.AsObject()))
        {
            if (sent++ == StallAfterChunks)
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

            await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", Encoding.UTF8, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }
}
