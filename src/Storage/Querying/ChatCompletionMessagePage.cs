using System.Text.Json;

namespace Storage;

/// <summary>
/// One page of the input messages of a stored completion, in the shape of OpenAI's
/// <c>GET /v1/chat/completions/{id}/messages</c>: each item has an <c>id</c> (<c>{completion id}-{index}</c>),
/// <c>role</c>, <c>content</c>, <c>content_parts</c> and <c>name</c>, plus every other member the message had.
/// </summary>
/// <param name="Items">The messages of this page.</param>
/// <param name="HasMore">Whether more messages follow; pass <see cref="LastId"/> as <c>after</c> to get them.</param>
public sealed record ChatCompletionMessagePage(IReadOnlyList<JsonElement> Items, bool HasMore)
{
    /// <summary>The id of the first message of the page, or <c>null</c> when it is empty.</summary>
    public string? FirstId => Items.Count == 0 ? null : Items[0].GetProperty("id").GetString();

    /// <summary>The id of the last message of the page, or <c>null</c> when it is empty.</summary>
    public string? LastId => Items.Count == 0 ? null : Items[^1].GetProperty("id").GetString();
}
