namespace Storage.Internal;

/// <summary>The <c>cost_source</c> column's values.</summary>
internal static class CostSources
{
    public const string Prices = "prices";
    public const string Reported = "reported";

    public static string? Name(ChatCompletionCost? cost) => cost?.Source switch
    {
        null => null,
        ChatCompletionCostSource.Reported => Reported,
        _ => Prices,
    };

    public static ChatCompletionCost? Read(decimal? usd, string? source, bool clamped) =>
        usd is { } amount
            ? new ChatCompletionCost(amount, source == Reported ? ChatCompletionCostSource.Reported : ChatCompletionCostSource.Prices, clamped)
            : null;
}
