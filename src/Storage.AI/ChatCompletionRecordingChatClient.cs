using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Storage.AI.Internal;

namespace Storage.AI;

/// <summary>
/// A chat-client middleware that records every completion, plain or streamed, with the request that produced it,
/// its timings and trace ids, into a <see cref="ChatCompletionStore"/> through a buffered <see cref="ChatCompletionWriter"/>:
/// the caller never waits for the database, and a storage failure never fails the call (it is logged and counted as
/// <c>storage.recorder.failed</c> on the <c>Storage</c> meter). Add it with <c>builder.UseChatCompletionStore()</c>.
/// </summary>
/// <remarks>
/// <para>A stream is recorded when it ends, however it ends: read to the end, abandoned by the caller, or broken by
/// the vendor; what arrived is assembled with <see cref="ChatCompletionChunkAssembler"/>.</para>
/// <para>Over OpenAI's client the completion is the vendor's JSON: byte-exact when the OpenAI client was created with
/// <c>OpenAIClientOptions.AddChatCompletionCapture()</c>, else as the SDK writes its response object back (which can
/// drop vendor members and round floats). Over other clients it is mapped from the <see cref="ChatResponse"/>.</para>
/// <para>Metadata comes from the enclosing <see cref="ChatCompletionScope"/>s and from the request's <c>metadata</c>
/// (<see cref="ChatOptions.AdditionalProperties"/> or OpenAI's own options), the request's winning; a scope's tenant
/// selects <see cref="ChatCompletionStore.ForTenant(string)"/>.</para>
/// </remarks>
public sealed class ChatCompletionRecordingChatClient : DelegatingChatClient
{
    private readonly ChatCompletionStore _store;
    private readonly ChatCompletionWriter _writer;
    private readonly ChatCompletionRecorderOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<ChatCompletionWriter>> _tenantWriters = new(StringComparer.Ordinal);

    /// <summary>Creates the middleware over a client.</summary>
    /// <param name="innerClient">The client whose calls are recorded.</param>
    /// <param name="store">The store; tenants' completions go to its <see cref="ChatCompletionStore.ForTenant(string)"/> views.</param>
    /// <param name="writer">The buffered writer of the default tenant, over <paramref name="store"/>.</param>
    /// <param name="options">Recording options; defaults when <c>null</c>.</param>
    /// <param name="logger">Where recording failures are logged.</param>
    public ChatCompletionRecordingChatClient(
        IChatClient innerClient, ChatCompletionStore store, ChatCompletionWriter writer, ChatCompletionRecorderOptions? options = null, ILogger? logger = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(writer);
        _store = store;
        _writer = writer;
        _options = options ?? new ChatCompletionRecorderOptions();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var input = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var call = CallStart.Now();
        var capture = ResponseCapture.Begin();
        var response = await base.GetResponseAsync(input, options, cancellationToken).ConfigureAwait(false);
        Record(
            () => capture.Body is { } body ? ChatCompletionJson.Parse(body.ToMemory().Span)
                : response.RawRepresentation is OpenAI.Chat.ChatCompletion openAi ? CompletionMapper.FromOpenAI(openAi)
                : CompletionMapper.FromResponse(response, options, call.StartedAt),
            input, options, call, timeToFirstToken: null, stream: false);
        return response;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var input = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var call = CallStart.Now();
        var capture = ResponseCapture.Begin();
        var updates = new List<ChatResponseUpdate>();
        TimeSpan? firstToken = null;
        try
        {
            await foreach (var update in base.GetStreamingResponseAsync(input, options, cancellationToken).ConfigureAwait(false))
            {
                if (firstToken is null && update.Contents.Count > 0)
                {
                    firstToken = call.Elapsed;
                }

                updates.Add(update);
                yield return update;
            }
        }
        finally
        {
            // Here however the stream ended: to its end, abandoned by the caller (DisposeAsync), or failed.
            if (updates.Count > 0)
            {
                Record(() => Assemble(capture, updates, options, call), input, options, call, firstToken, stream: true);
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // The tenants' writers are this client's own: flush them. The default writer belongs to whoever gave it.
            var writers = _tenantWriters.Values.Where(w => w.IsValueCreated).Select(w => w.Value.DisposeAsync().AsTask()).ToArray();
            Task.WhenAll(writers).GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private static ChatCompletion Assemble(ResponseCapture capture, List<ChatResponseUpdate> updates, ChatOptions? options, CallStart call)
    {
        if (capture.Stream is { Failed: false, Assembler.Count: > 0 } exact)
        {
            return exact.Assembler.ToCompletion();
        }

        if (updates.All(u => u.RawRepresentation is OpenAI.Chat.StreamingChatCompletionUpdate))
        {
            var assembler = new ChatCompletionChunkAssembler();
            foreach (var update in updates)
            {
                CompletionMapper.AddTo(assembler, (OpenAI.Chat.StreamingChatCompletionUpdate)update.RawRepresentation!);
            }

            return assembler.ToCompletion();
        }

        return CompletionMapper.FromResponse(updates.ToChatResponse(), options, call.StartedAt);
    }

    private void Record(Func<ChatCompletion> build, IReadOnlyList<ChatMessage> input, ChatOptions? options, CallStart call, TimeSpan? timeToFirstToken, bool stream)
    {
        try
        {
            var latency = call.Elapsed;
            var completion = build();
            var request = RequestJson.Write(input, options, InnerClient, stream);
            completion.Metadata = Metadata(completion.Metadata, call.Scope, request);
            completion.Call = new ChatCompletionCall
            {
                StartedAt = call.StartedAt,
                Request = _options.RecordRequest ? request : null,
                Latency = latency,
                TimeToFirstToken = stream ? timeToFirstToken : null,
                TraceId = call.TraceId,
                SpanId = call.SpanId,
            };
            _ = SaveAsync(WriterFor(call.Scope?.Tenant), completion);
        }
#pragma warning disable CA1031 // Recording must never fail the caller's call, whatever went wrong.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(e);
        }
    }

    private async Task SaveAsync(ChatCompletionWriter writer, ChatCompletion completion)
    {
        try
        {
            await writer.SaveAsync(completion).ConfigureAwait(false);
            RecorderTelemetry.Recorded.Add(1);
        }
#pragma warning disable CA1031 // Runs unobserved in the background: every failure is logged and counted here.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Fail(e);
        }
    }

    private void Fail(Exception e)
    {
        RecorderTelemetry.Failed.Add(1, new KeyValuePair<string, object?>("error.type", e.GetType().Name));
        if (e is ChatCompletionValidationException invalid)
        {
            RecorderLog.RecordRejected(_logger, invalid.Field, invalid.Rule);
        }
        else
        {
            RecorderLog.RecordFailed(_logger, e.GetType().Name);
        }
    }

    private ChatCompletionWriter WriterFor(string? tenant) =>
        tenant is null ? _writer : _tenantWriters.GetOrAdd(tenant, t => new Lazy<ChatCompletionWriter>(() => new ChatCompletionWriter(_store.ForTenant(t), _options.TenantWriter))).Value;

    private static Dictionary<string, string>? Metadata(IDictionary<string, string>? vendor, ChatCompletionScope? scope, JsonElement request)
    {
        var merged = vendor is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(vendor, StringComparer.Ordinal);
        foreach (var (key, value) in scope?.Metadata ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        if (request.TryGetProperty("metadata", out var requested) && requested.ValueKind == JsonValueKind.Object)
        {
            foreach (var pair in requested.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
            {
                merged[pair.Name] = pair.Value.GetString()!;
            }
        }

        return merged.Count == 0 && vendor is null ? null : merged;
    }

    private sealed record CallStart(DateTimeOffset StartedAt, long Timestamp, string? TraceId, string? SpanId, ChatCompletionScope? Scope)
    {
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Timestamp);

        public static CallStart Now()
        {
            var activity = Activity.Current;
            return new CallStart(
                DateTimeOffset.UtcNow, Stopwatch.GetTimestamp(), activity?.TraceId.ToHexString(), activity?.SpanId.ToHexString(), ChatCompletionScope.Current);
        }
    }
}
