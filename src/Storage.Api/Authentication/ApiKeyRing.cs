using System.Security.Cryptography;
using System.Text;
using Storage.Api.Configuration;

namespace Storage.Api.Authentication;

/// <summary>
/// The configured bearer keys, each kept only as its SHA-256 and tied to the store view of its tenant. A presented key is
/// hashed and compared with every configured hash in constant time, so neither the comparison nor which entry matched
/// shows in the timing.
/// </summary>
internal sealed class ApiKeyRing
{
    private readonly (byte[] Hash, ChatCompletionStore Store)[] _keys;

    private ApiKeyRing((byte[] Hash, ChatCompletionStore Store)[] keys) => _keys = keys;

    /// <summary>Whether no key is configured, so every caller gets the default store.</summary>
    public bool IsAnonymous => _keys.Length == 0;

    /// <summary>Reads <c>Api:Keys</c>; every item must have exactly one of <c>Key</c> and <c>KeyHash</c>.</summary>
    /// <exception cref="InvalidOperationException">An item is incomplete or its hash or tenant is malformed.</exception>
    public static ApiKeyRing Create(IList<ApiKeyOptions> keys, ChatCompletionStore store)
    {
        var entries = new (byte[] Hash, ChatCompletionStore Store)[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            var item = keys[i];
            var name = $"{ApiOptions.SectionName}:Keys:{i}";
            byte[] hash = (item.Key, item.KeyHash) switch
            {
                ({ Length: > 0 } key, null or "") => Hash(key),
                (null or "", { Length: 64 } hex) when IsHex(hex) => Convert.FromHexString(hex),
                (null or "", { Length: > 0 }) => throw new InvalidOperationException(
                    $"{name}:KeyHash must be the SHA-256 of the key's UTF-8 bytes as 64 hex digits."),
                _ => throw new InvalidOperationException($"{name} must have exactly one of Key and KeyHash."),
            };
            ChatCompletionStore scoped;
            try
            {
                scoped = item.Tenant is null ? store : store.ForTenant(item.Tenant);
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"{name}:Tenant is not a valid tenant: {e.Message}", e);
            }

            entries[i] = (hash, scoped);
        }

        return new ApiKeyRing(entries);
    }

    /// <summary>The store view of the caller with this key, or <c>null</c> when the key is not one of ours.</summary>
    public ChatCompletionStore? Find(ReadOnlySpan<char> key) => FindHash(Hash(key));

    /// <summary>
    /// The store view of the caller whose key has this SHA-256 (<see cref="Hash"/>), or <c>null</c> when it is not one of
    /// ours: the console's cookie carries the hash, never the key.
    /// </summary>
    public ChatCompletionStore? FindHash(ReadOnlySpan<byte> presented)
    {
        ChatCompletionStore? found = null;
        // Every entry is compared, match or not.
        foreach (var (hash, store) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                found = store;
            }
        }

        return found;
    }

    /// <summary>The SHA-256 of the key's UTF-8 bytes, the form in which keys are kept and compared.</summary>
    public static byte[] Hash(ReadOnlySpan<char> key)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(key)];
        Encoding.UTF8.GetBytes(key, bytes);
        return SHA256.HashData(bytes);
    }

    private static bool IsHex(string text) => text.All(char.IsAsciiHexDigit);
}
