using Storage.Internal;

namespace Storage;

/// <summary>
/// One price: what one token of a class costs, in US dollars, for a model, from a time on (until the model's next
/// price of that class). Exact: prices are decimals, as written in the price file, never binary floating point.
/// </summary>
/// <param name="Model">The model, as the price file's key names it.</param>
/// <param name="TokenClass">The class of tokens the price is for.</param>
/// <param name="UsdPerToken">US dollars per token; zero or more.</param>
/// <param name="EffectiveFrom">From when the price holds.</param>
public sealed record ChatCompletionPrice(string Model, PriceTokenClass TokenClass, decimal UsdPerToken, DateTimeOffset EffectiveFrom)
{
    /// <summary>The member of LiteLLM's price file that holds this class, also its name in the price table (<c>input_cost_per_token</c>, …).</summary>
    public string Member => PriceMembers.Name(TokenClass);
}
