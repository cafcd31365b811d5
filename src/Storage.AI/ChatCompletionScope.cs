namespace Storage.AI;

/// <summary>
/// An ambient scope for recording: the tenant and metadata (user, feature, …) that every completion recorded inside it
/// gets, without passing them through each call. Scopes nest: an inner scope adds to and overrides the outer one's
/// metadata, and its tenant, when set, replaces the outer tenant. Flows with the async context (an <see cref="AsyncLocal{T}"/>).
/// <code>
/// using (ChatCompletionScope.Begin(tenant: "acme", metadata: new Dictionary&lt;string, string&gt; { ["user"] = userId, ["feature"] = "summary" }))
/// {
///     var answer = await chatClient.GetResponseAsync(prompt, cancellationToken: ct);
/// }
/// </code>
/// </summary>
public sealed class ChatCompletionScope : IDisposable
{
    private static readonly AsyncLocal<ChatCompletionScope?> Ambient = new();

    private readonly ChatCompletionScope? _parent;
    private bool _disposed;

    private ChatCompletionScope(string? tenant, IReadOnlyDictionary<string, string> metadata, ChatCompletionScope? parent)
    {
        Tenant = tenant;
        Metadata = metadata;
        _parent = parent;
    }

    /// <summary>The innermost scope of the current async context, or <c>null</c> outside any scope.</summary>
    public static ChatCompletionScope? Current => Ambient.Value;

    /// <summary>The tenant completions are recorded for (see <c>ChatCompletionStore.ForTenant</c>); <c>null</c> for the default store.</summary>
    public string? Tenant { get; }

    /// <summary>The metadata added to every completion recorded in the scope, outer scopes' included.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens a scope; dispose it to return to the enclosing one.</summary>
    /// <param name="tenant">The tenant, or <c>null</c> to keep the enclosing scope's.</param>
    /// <param name="metadata">Metadata to add (overriding the enclosing scope's values of the same keys).</param>
    public static ChatCompletionScope Begin(string? tenant = null, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var parent = Ambient.Value;
        var merged = new Dictionary<string, string>(parent?.Metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? [])
        {
            merged[key] = value;
        }

        var scope = new ChatCompletionScope(tenant ?? parent?.Tenant, merged, parent);
        Ambient.Value = scope;
        return scope;
    }

    /// <summary>Closes the scope: the enclosing scope becomes current again.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Ambient.Value = _parent;
        }
    }
}
