using System.Collections.ObjectModel;
using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace Storage;

/// <summary>
/// Prices per model and token class, in US dollars per token, without dates: the content of a price file in the format
/// of LiteLLM's <c>model_prices_and_context_window.json</c>. Keys are model names; of each entry the members
/// <c>input_cost_per_token</c>, <c>output_cost_per_token</c>, <c>cache_read_input_token_cost</c>,
/// <c>cache_creation_input_token_cost</c>, <c>output_cost_per_reasoning_token</c>, <c>input_cost_per_audio_token</c> and
/// <c>output_cost_per_audio_token</c> are read, every other member is ignored, and so are entries whose <c>mode</c> is
/// not <c>chat</c> or <c>completion</c>, entries without any of those prices, and <c>sample_spec</c>. Numbers are read
/// exactly as written (<c>2.5e-06</c> is 0.0000025), never through binary floating point.
/// </summary>
public sealed class PriceTable
{
    /// <summary>The day the prices of <see cref="Default"/> were the vendors' list prices.</summary>
    public static readonly DateTimeOffset DefaultDate = new(2025, 10, 15, 0, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<PriceTable> DefaultTable = new(LoadDefault);

    private PriceTable(IReadOnlyDictionary<string, IReadOnlyDictionary<PriceTokenClass, decimal>> models) => Models = models;

    /// <summary>
    /// The small table that ships with the library: the major current models of OpenAI, Anthropic, Google, DeepSeek
    /// and Mistral at their list prices of <see cref="DefaultDate"/>. The store uses it for models the database's
    /// price table does not name, unless <see cref="ChatCompletionStoreOptions.UseDefaultPrices"/> is off.
    /// </summary>
    public static PriceTable Default => DefaultTable.Value;

    /// <summary>The prices of each model, by token class; a class the file does not price is absent.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<PriceTokenClass, decimal>> Models { get; }

    /// <summary>Reads a price file in LiteLLM's format.</summary>
    /// <exception cref="FormatException">The file is not JSON, not an object, or a price is not a number of zero or more (named with its key and member).</exception>
    public static PriceTable Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new FormatException($"The price file is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    /// <summary>Reads a price file in LiteLLM's format.</summary>
    /// <exception cref="FormatException">The file is not a valid price file.</exception>
    public static async Task<PriceTable> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return Parse(bytes);
    }

    /// <summary>This table's prices, each effective from <paramref name="effectiveFrom"/>, ordered by model and class.</summary>
    public IReadOnlyList<ChatCompletionPrice> ToPrices(DateTimeOffset effectiveFrom) =>
        Models
            .OrderBy(m => m.Key, StringComparer.Ordinal)
            .SelectMany(m => m.Value.OrderBy(p => p.Key).Select(p => new ChatCompletionPrice(m.Key, p.Key, p.Value, effectiveFrom)))
            .ToList();

    private static PriceTable Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("The price file is not a JSON object keyed by model.");
        }

        var models = new Dictionary<string, IReadOnlyDictionary<PriceTokenClass, decimal>>(StringComparer.Ordinal);
        foreach (var entry in root.EnumerateObject())
        {
            if (entry.Name == "sample_spec" || entry.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (entry.Value.TryGetProperty("mode", out var mode) && mode.ValueKind == JsonValueKind.String
                && mode.GetString() is not ("chat" or "completion"))
            {
                continue;
            }

            var prices = new Dictionary<PriceTokenClass, decimal>();
            foreach (var (tokenClass, member) in Internal.PriceMembers.All)
            {
                if (!entry.Value.TryGetProperty(member, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (value.ValueKind != JsonValueKind.Number
                    || !decimal.TryParse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var price)
                    || price < 0)
                {
                    throw new FormatException($"The price file's '{entry.Name}'.{member} is not a number of zero or more.");
                }

                prices[tokenClass] = price;
            }

            if (prices.Count > 0)
            {
                models[entry.Name] = new ReadOnlyDictionary<PriceTokenClass, decimal>(prices);
            }
        }

        return new PriceTable(new ReadOnlyDictionary<string, IReadOnlyDictionary<PriceTokenClass, decimal>>(models));
    }

    private static PriceTable LoadDefault()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Storage.Pricing.default-prices.json")
            ?? throw new InvalidOperationException("The library's default price table is missing.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.ToArray());
    }
}
