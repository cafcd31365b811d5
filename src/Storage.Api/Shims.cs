using System.Text.Json;

namespace Storage;

// TEMPORARY: stands in for the library API landing on main; removed at the merge.
public sealed class ChatCompletionCall
{
    public required DateTimeOffset StartedAt { get; set; }
    public JsonElement? Request { get; set; }
    public TimeSpan? Latency { get; set; }
    public TimeSpan? TimeToFirstToken { get; set; }
    public string? TraceId { get; set; }
    public string? SpanId { get; set; }
}

public sealed class ChatCompletionChunkAssembler
{
    public void Add(JsonElement chunk) => _ = chunk;
    public ChatCompletion ToCompletion() => throw new InvalidOperationException("shim");
}

public sealed record ChatCompletionMessagePage(IReadOnlyList<JsonElement> Items, bool HasMore)
{
    public string? FirstId => null;
    public string? LastId => null;
}

public static class Shim
{
    extension(ChatCompletion completion)
    {
        public ChatCompletionCall? Call { get => null; set => _ = value; }
    }

}

public static class Shim2
{
    extension(ChatCompletionStore store)
    {
        public ChatCompletionStore ForTenant(string tenant) => tenant.Length > 0 ? store : throw new ArgumentException("empty");
        public Task<ChatCompletionMessagePage> ListMessagesAsync(string id, string? after = null, int limit = 20,
            ChatCompletionOrder order = ChatCompletionOrder.Ascending, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatCompletionMessagePage([], false));
    }
}
