using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Storage.Api.Proxy;

namespace Storage.Api.Tests;

/// <summary>
/// Issue 19: bytes that are not valid UTF-8 are refused by position, never stored with replacement characters: an import
/// line is rejected with its number and the rest stored; an upstream answer is relayed byte for byte but not stored, and
/// the failure is counted.
/// </summary>
public sealed class Utf8Tests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_import_line_with_invalid_utf8_is_rejected_with_its_line_and_byte_and_the_rest_are_stored()
    {
        var run = TestCompletions.Unique();
        var bad = Spliced(TestCompletions.Make($"chatcmpl-{run}-bad~", $"model-{run}"), [0xFF, 0xFE]);
        var badExtension = Spliced(TestCompletions.Make($"chatcmpl-{run}-ext", $"model-{run}").Replace("\"object\":", "\"x_note\":\"caf~\",\"object\":", StringComparison.Ordinal), [0xC3, 0x28]);
        byte[] body =
        [
            0xEF, 0xBB, 0xBF, .. Utf8(TestCompletions.Make($"chatcmpl-{run}-1", $"model-{run}")), (byte)'\n',
            .. bad, (byte)'\n',
            .. badExtension, (byte)'\r', (byte)'\n',
            .. Utf8(TestCompletions.Make($"chatcmpl-{run}-2", $"model-{run}")), (byte)'\n',
        ];
        using var http = api.Http();
        using var content = new ByteArrayContent(body);

        using var response = await http.PostAsync("/v1/storage/import", content, Token);
        var text = await response.Content.ReadAsStringAsync(Token);
        var result = JsonDocument.Parse(text).RootElement;
        var errors = result.GetProperty("errors").EnumerateArray().ToList();
        var listed = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions?model=model-{run}", Token)).RootElement.GetProperty("data");

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal((2L, 0L, 2L), (result.GetProperty("stored").GetInt64(), result.GetProperty("already_stored").GetInt64(), result.GetProperty("rejected").GetInt64()));
        Assert.Equal([2L, 3L], errors.Select(error => error.GetProperty("line").GetInt64()));
        Assert.All(errors, error => Assert.Equal("$", error.GetProperty("param").GetString()));
        Assert.Contains($"is not valid UTF-8: 0xFF at byte {Array.IndexOf(bad, (byte)0xFF) + 1} ", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains($"is not valid UTF-8: 0xC3 at byte {Array.IndexOf(badExtension, (byte)0xC3) + 1} ", errors[1].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal([$"chatcmpl-{run}-2", $"chatcmpl-{run}-1"], listed.EnumerateArray().Select(c => c.GetProperty("id").GetString()).Order().Reverse());
    }

    [Fact]
    public async Task A_plain_upstream_answer_with_invalid_utf8_is_relayed_byte_for_byte_but_not_stored_and_counted()
    {
        var run = TestCompletions.Unique();
        var answer = Spliced(TestCompletions.Make($"chatcmpl-{run}~", $"model-{run}"), [0xFF, 0xFE]);
        using var failures = new FailureCount();
        api.Upstream.RawAnswer = answer;
        try
        {
            using var http = api.Http();
            using var content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"store":true}""", Encoding.UTF8, "application/json");

            using var response = await http.PostAsync("/v1/chat/completions", content, Token);
            var relayed = await response.Content.ReadAsByteArrayAsync(Token);
            var listed = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions?model=model-{run}", Token)).RootElement.GetProperty("data");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(answer, relayed);
            Assert.Equal(0, listed.GetArrayLength());
            Assert.True(failures.Value >= 1, "the store failure was not counted");
        }
        finally
        {
            api.Upstream.RawAnswer = null;
        }
    }

    [Fact]
    public async Task A_stream_with_an_invalid_utf8_event_is_relayed_byte_for_byte_but_not_stored_and_counted()
    {
        var run = TestCompletions.Unique();
        var chunks = CompletionChunks.Of(System.Text.Json.Nodes.JsonNode.Parse(TestCompletions.Make($"chatcmpl-{run}", $"model-{run}"))!.AsObject())
            .Select(chunk => chunk.ToJsonString()).ToList();
        var stream = new List<byte>();
        var spliced = false;
        foreach (var chunk in chunks)
        {
            // The first chunk with content gets a byte that starts no UTF-8 sequence.
            var evt = $"data: {chunk}\n\n";
            var bad = !spliced && evt.Contains("\"content\":\"", StringComparison.Ordinal);
            spliced |= bad;
            stream.AddRange(bad ? Spliced(evt.Replace("\"content\":\"", "\"content\":\"~", StringComparison.Ordinal), [0xFF]) : Utf8(evt));
        }

        Assert.True(spliced);

        stream.AddRange(Utf8("data: [DONE]\n\n"));
        using var failures = new FailureCount();
        api.Upstream.RawAnswer = [.. stream];
        try
        {
            using var http = api.Http();
            using var content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true,"store":true}""", Encoding.UTF8, "application/json");

            using var response = await http.PostAsync("/v1/chat/completions", content, Token);
            var relayed = await response.Content.ReadAsByteArrayAsync(Token);
            var listed = JsonDocument.Parse(await http.GetStringAsync($"/v1/chat/completions?model=model-{run}", Token)).RootElement.GetProperty("data");

            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(stream, relayed);
            Assert.Equal(0, listed.GetArrayLength());
            Assert.True(failures.Value >= 1, "the store failure was not counted");
        }
        finally
        {
            api.Upstream.RawAnswer = null;
        }
    }

    [Fact]
    public void The_event_reader_names_the_line_and_byte_of_invalid_utf8_and_keeps_the_events_bytes()
    {
        var reader = new ServerSentEventReader();
        byte[] stream = [.. Utf8("data: {\"a\":1}\n\n: comment\ndata: {\"b\":\"x"), 0xE2, 0x82, .. Utf8("\"}\n\ndata: {\"c\":3}\n\n")];

        // Fed a byte at a time, as a network might split it.
        var events = stream.SelectMany(b => reader.Feed([b])).ToList();

        Assert.Equal(3, events.Count);
        Assert.Equal(("{\"a\":1}", (string?)null), (events[0].Data, events[0].InvalidUtf8));
        Assert.Null(events[1].Data);
        Assert.Equal("0xE2 at line 4, byte 14 of the event stream", events[1].InvalidUtf8);
        Assert.Equal(("{\"c\":3}", (string?)null), (events[2].Data, events[2].InvalidUtf8));
        Assert.Equal(stream, events.SelectMany(e => e.Raw));
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The UTF-8 of <paramref name="text"/> with its first <c>~</c> replaced by <paramref name="bytes"/>.</summary>
    private static byte[] Spliced(string text, byte[] bytes)
    {
        var at = text.IndexOf('~', StringComparison.Ordinal);
        return [.. Utf8(text[..at]), .. bytes, .. Utf8(text[(at + 1)..])];
    }

    /// <summary>Counts the proxy's store failures from its creation on.</summary>
    private sealed class FailureCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public FailureCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ApiTelemetry.MeterName && instrument.Name == "storage.api.proxy.store_failed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _value, value));
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }
}
