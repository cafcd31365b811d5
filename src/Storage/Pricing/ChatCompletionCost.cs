namespace Storage;

/// <summary>What a stored completion cost, in US dollars, as computed when it was stored (or last repriced).</summary>
/// <param name="Usd">The cost in US dollars, exact.</param>
/// <param name="Source">Where the amount comes from.</param>
/// <param name="Clamped">
/// The usage was inconsistent (a class counted more tokens than its total, or a negative count) and was clamped before
/// pricing, so that no token is priced twice.
/// </param>
public sealed record ChatCompletionCost(decimal Usd, ChatCompletionCostSource Source, bool Clamped);

/// <summary>Where a completion's cost comes from.</summary>
public enum ChatCompletionCostSource
{
    /// <summary>Computed from the price table in force at the completion's <c>created</c>.</summary>
    Prices,

    /// <summary>Reported by the vendor itself (OpenRouter's <c>usage.cost</c>) and used as is.</summary>
    Reported,
}
