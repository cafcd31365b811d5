using System.Globalization;
using System.Text.Json;

namespace Storage.Internal;

/// <summary>
/// The cost of one completion, each token priced exactly once:
/// prompt = cached × cache read + cache writes × cache creation + audio × input audio + the rest × input;
/// completion = reasoning × reasoning + audio × output audio + the rest × output. A class without a price of its own
/// falls back to the model's plain input or output price. A class never counts more than what is left of its total
/// (clamped, and flagged); a vendor-reported cost (OpenRouter's <c>usage.cost</c>) is taken as is.
/// </summary>
internal static class CostCalculator
{
    /// <summary>The cost, or <c>null</c> when the completion is unpriced (no usage, or a model the prices do not know).</summary>
    public static ChatCompletionCost? Compute(string model, DateTimeOffset created, ChatUsage? usage, PriceBook prices)
    {
        if (usage is null)
        {
            return null;
        }

        if (Reported(usage) is { } reported)
        {
            return new ChatCompletionCost(reported, ChatCompletionCostSource.Reported, Clamped: false);
        }

        if (prices.Find(model, created) is not { } price || price[(int)PriceTokenClass.Input] is not { } input || price[(int)PriceTokenClass.Output] is not { } output)
        {
            return null;
        }

        var clamped = false;
        var prompt = Clamp(usage.PromptTokens, long.MaxValue, ref clamped);
        // Vendors that report their cache hits outside prompt_tokens_details: DeepSeek (prompt_cache_hit_tokens) and
        // Mistral (num_cached_tokens); both bill those tokens at their cache price.
        var cached = Clamp(
            usage.PromptTokensDetails?.CachedTokens ?? Extra(usage, "prompt_cache_hit_tokens") ?? Extra(usage, "num_cached_tokens") ?? 0, prompt, ref clamped);
        var cacheWrites = Clamp(usage.PromptTokensDetails?.CacheWriteTokens ?? 0, prompt - cached, ref clamped);
        var inputAudio = Clamp(usage.PromptTokensDetails?.AudioTokens ?? 0, prompt - cached - cacheWrites, ref clamped);
        var inputRest = prompt - cached - cacheWrites - inputAudio;

        var completion = Clamp(usage.CompletionTokens, long.MaxValue, ref clamped);
        var reasoning = Clamp(usage.CompletionTokensDetails?.ReasoningTokens ?? 0, completion, ref clamped);
        var outputAudio = Clamp(usage.CompletionTokensDetails?.AudioTokens ?? 0, completion - reasoning, ref clamped);
        var outputRest = completion - reasoning - outputAudio;

        var usd = cached * (price[(int)PriceTokenClass.CacheRead] ?? input)
            + cacheWrites * (price[(int)PriceTokenClass.CacheWrite] ?? input)
            + inputAudio * (price[(int)PriceTokenClass.InputAudio] ?? input)
            + inputRest * input
            + reasoning * (price[(int)PriceTokenClass.Reasoning] ?? output)
            + outputAudio * (price[(int)PriceTokenClass.OutputAudio] ?? output)
            + outputRest * output;
        return new ChatCompletionCost(usd, ChatCompletionCostSource.Prices, clamped);
    }

    private static long Clamp(long count, long most, ref bool clamped)
    {
        if (count < 0)
        {
            clamped = true;
            return 0;
        }

        if (count > most)
        {
            clamped = true;
            return most;
        }

        return count;
    }

    private static decimal? Reported(ChatUsage usage) =>
        usage.AdditionalProperties?.TryGetValue("cost", out var cost) == true && cost.ValueKind == JsonValueKind.Number
        && decimal.TryParse(cost.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var usd) && usd >= 0
            ? usd
            : null;

    private static long? Extra(ChatUsage usage, string name) =>
        usage.AdditionalProperties?.TryGetValue(name, out var value) == true && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count)
            ? count
            : null;
}
