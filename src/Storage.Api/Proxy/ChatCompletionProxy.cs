using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Storage.Api.Authentication;
using Storage.Api.Configuration;
using Storage.Api.Errors;

namespace Storage.Api.Proxy;

/// <summary>
/// <c>POST /v1/chat/completions</c> as a recording proxy: forwards the request body unchanged to the configured upstream
/// (with the upstream's key, never the caller's), relays the upstream's status, content type and body unchanged (a stream
/// event by event as it arrives), and stores the completion with its request when the request says <c>"store": true</c>
/// or <c>Api:Upstream:StoreAll</c> is on. The completion is stored before the caller has the whole answer: a plain answer
/// is written once the save has committed, and a stream's final event (<c>data: [DONE]</c>) and its end are held back
/// until then, so a caller that has read the answer can always read the stored completion back. A failure to store is
/// logged and counted, never shown to the caller; so is an answer that is not valid UTF-8, which is relayed byte for byte
/// but not stored, since decoding it would have changed it.
/// </summary>
internal sealed partial class ChatCompletionProxy(
    IHttpClientFactory clients, IOptions<ApiOptions> options, IHostApplicationLifetime lifetime, ILogger<ChatCompletionProxy> logger)
{
    public const string HttpClientName = "upstream";

    private const int RelayBufferSize = 16 * 1024;

    public static void Map(IEndpointRouteBuilder routes) =>
        routes.MapPost("/v1/chat/completions", (HttpContext context, Caller caller, ChatCompletionProxy proxy) => proxy.ForwardAsync(context, caller))
            .WithTags("Recording proxy")
            .WithName("CreateChatCompletion")
            .WithSummary("Forwards a chat-completions request to the configured upstream, relays its answer unchanged (server-sent events for \"stream\": true), and stores the completion when the request says \"store\": true.")
            .Accepts<JsonElement>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");

    public async Task ForwardAsync(HttpContext context, Caller caller)
    {
        var upstream = options.Value.Upstream;
        if (upstream.BaseUrl is null)
        {
            throw new ApiErrorException(StatusCodes.Status501NotImplemented,
                "This server has no upstream to forward chat completions to (set Api:Upstream:BaseUrl).", code: "upstream_not_configured");
        }

        var aborted = context.RequestAborted;
        var body = await ReadBodyAsync(context.Request, aborted);
        using var request = JsonDocument.Parse(body);
        if (request.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw ApiErrorException.BadRequest("The request body must be a JSON object.");
        }

        var streamed = IsTrue(request.RootElement, "stream");
        var store = upstream.StoreAll || IsTrue(request.RootElement, "store");
        // Every recorded call gets a trace id, also when nothing listens for ASP.NET Core's activities; HttpClient
        // passes it on to the upstream as traceparent, which joins the stored call to the upstream's logs.
        using var ownActivity = Activity.Current is null ? new Activity("Storage.Api.Proxy").Start() : null;
        var activity = Activity.Current;
        var call = new ChatCompletionCall { StartedAt = DateTimeOffset.UtcNow, Request = request.RootElement.Clone() };
        var clock = Stopwatch.StartNew();

        using var forward = new HttpRequestMessage(HttpMethod.Post, new Uri(WithTrailingSlash(upstream.BaseUrl), "chat/completions"))
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (upstream.ApiKey is { Length: > 0 } key)
        {
            forward.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HttpResponseMessage answer;
        try
        {
            answer = await clients.CreateClient(HttpClientName).SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, aborted);
        }
        catch (HttpRequestException e)
        {
            LogUpstreamUnreachable(logger, e, upstream.BaseUrl);
            throw new ApiErrorException(StatusCodes.Status502BadGateway, "The upstream could not be reached.", code: "upstream_unreachable", type: ApiErrors.ServerError);
        }

        using (answer)
        {
            var response = context.Response;
            response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentType is { } contentType)
            {
                response.ContentType = contentType.ToString();
            }

            await using var content = await answer.Content.ReadAsStreamAsync(aborted);
            var succeeded = answer.IsSuccessStatusCode;
            if (streamed && succeeded && answer.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                var assembly = await RelayStreamAsync(content, context, clock, aborted);
                call.Latency = clock.Elapsed;
                call.TimeToFirstToken = assembly.TimeToFirstToken;
                if (store)
                {
                    await StoreAsync(caller.Store, assembly.ToCompletion, call, request.RootElement, activity);
                }

                await response.Body.WriteAsync(assembly.HeldBack, aborted);
                await response.Body.FlushAsync(aborted);
                return;
            }

            using var buffered = new MemoryStream();
            await content.CopyToAsync(buffered, aborted);
            call.Latency = clock.Elapsed;
            if (store && succeeded)
            {
                await StoreAsync(caller.Store, () => ChatCompletionJson.Parse(buffered.GetBuffer().AsSpan(0, (int)buffered.Length)), call, request.RootElement, activity);
            }

            buffered.Position = 0;
            await buffered.CopyToAsync(response.Body, aborted);
            await response.Body.FlushAsync(aborted);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        return body.ToArray();
    }

    private static bool IsTrue(JsonElement request, string name) =>
        request.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static Uri WithTrailingSlash(Uri baseUrl) =>
        baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");

    /// <summary>
    /// Relays the event stream event by event as it arrives, while the chunks are assembled into a completion. The final
    /// <c>[DONE]</c> event, whatever follows it, and an unfinished last event are held back (<see cref="StreamAssembly.HeldBack"/>)
    /// for the caller to write once the completion is stored.
    /// </summary>
    private async Task<StreamAssembly> RelayStreamAsync(Stream content, HttpContext context, Stopwatch clock, CancellationToken cancellationToken)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var response = context.Response;
        var events = new ServerSentEventReader();
        var assembly = new StreamAssembly();
        using var held = new MemoryStream();
        var buffer = new byte[RelayBufferSize];
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var relayed = false;
            foreach (var evt in events.Feed(buffer.AsSpan(0, read)))
            {
                if (held.Length > 0 || evt.Data == "[DONE]")
                {
                    held.Write(evt.Raw);
                    continue;
                }

                await response.Body.WriteAsync(evt.Raw, cancellationToken);
                relayed = true;
                assembly.InvalidUtf8 ??= evt.InvalidUtf8;
                if (evt.Data is { } data)
                {
                    assembly.Add(data, clock, logger);
                }
            }

            if (relayed)
            {
                await response.Body.FlushAsync(cancellationToken);
            }
        }

        held.Write(events.Pending);
        assembly.HeldBack = held.ToArray();
        return assembly;
    }

    private async Task StoreAsync(ChatCompletionStore store, Func<ChatCompletion> build, ChatCompletionCall call, JsonElement request, Activity? activity)
    {
        try
        {
            var completion = build();
            if (completion.Metadata is null && request.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
            {
                completion.Metadata = metadata.EnumerateObject()
                    .Where(pair => pair.Value.ValueKind == JsonValueKind.String)
                    .ToDictionary(pair => pair.Name, pair => pair.Value.GetString()!, StringComparer.Ordinal);
            }

            call.TraceId = activity?.TraceId.ToHexString();
            call.SpanId = activity?.SpanId.ToHexString();
            completion.Call = call;
            // Not the request's token: a caller that hangs up once it has the whole answer still gets it recorded.
            await store.SaveAsync(completion, lifetime.ApplicationStopping);
            ApiTelemetry.ProxyStored.Add(1);
        }
        catch (Exception e) when (e is ChatCompletionStoreException or InvalidOperationException or ArgumentException or OperationCanceledException)
        {
            ApiTelemetry.ProxyStoreFailed.Add(1);
            LogStoreFailed(logger, e, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The upstream at {BaseUrl} could not be reached.")]
    private static partial void LogUpstreamUnreachable(ILogger logger, Exception exception, Uri baseUrl);

    [LoggerMessage(Level = LogLevel.Error, Message = "A proxied completion was relayed but not stored: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string reason);

    /// <summary>The chunks of one stream, assembled as they are relayed.</summary>
    private sealed class StreamAssembly
    {
        public ChatCompletionChunkAssembler Assembler { get; } = new();

        public TimeSpan? TimeToFirstToken { get; private set; }

        /// <summary>The end of the stream, from its <c>[DONE]</c> event on, not yet relayed.</summary>
        public byte[] HeldBack { get; set; } = [];

        /// <summary>Where the first event that was not valid UTF-8 went wrong; such a stream is relayed but not stored.</summary>
        public string? InvalidUtf8 { get; set; }

        /// <exception cref="ChatCompletionValidationException">An event was not valid UTF-8, or the chunks do not make a completion.</exception>
        public ChatCompletion ToCompletion() => InvalidUtf8 is { } where
            ? throw new ChatCompletionValidationException("$", ChatCompletionValidationRule.MalformedJson, $"is not valid UTF-8: {where}")
            : Assembler.ToCompletion();

        public void Add(string data, Stopwatch clock, ILogger logger)
        {
            // A bad event is the upstream's problem: it is still relayed, and ToCompletion will tell what is missing.
            try
            {
                using var chunk = JsonDocument.Parse(data);
                TimeToFirstToken ??= HasContent(chunk.RootElement) ? clock.Elapsed : null;
                Assembler.Add(chunk.RootElement.Clone());
            }
            catch (Exception e) when (e is JsonException or ChatCompletionStoreException or InvalidOperationException or ArgumentException)
            {
                LogBadChunk(logger, e);
            }
        }

        /// <summary>Whether a chunk carries content: a delta member other than the role that is neither null nor empty.</summary>
        private static bool HasContent(JsonElement chunk) =>
            chunk.ValueKind == JsonValueKind.Object
            && chunk.TryGetProperty("choices", out var choices)
            && choices.ValueKind == JsonValueKind.Array
            && choices.EnumerateArray().Any(choice =>
                choice.ValueKind == JsonValueKind.Object
                && choice.TryGetProperty("delta", out var delta)
                && delta.ValueKind == JsonValueKind.Object
                && delta.EnumerateObject().Any(member => member.Name != "role"
                    && member.Value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
                    && !(member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length == 0)));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The upstream sent an event that is not a well-formed chunk; it was relayed but is left out of the stored completion.")]
    private static partial void LogBadChunk(ILogger logger, Exception exception);
}
