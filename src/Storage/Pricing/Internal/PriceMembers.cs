namespace Storage.Internal;

/// <summary>The members of LiteLLM's price file that the store reads, one per <see cref="PriceTokenClass"/>.</summary>
internal static class PriceMembers
{
    public static readonly (PriceTokenClass Class, string Name)[] All =
    [
        (PriceTokenClass.Input, "input_cost_per_token"),
        (PriceTokenClass.Output, "output_cost_per_token"),
        (PriceTokenClass.CacheRead, "cache_read_input_token_cost"),
        (PriceTokenClass.CacheWrite, "cache_creation_input_token_cost"),
        (PriceTokenClass.Reasoning, "output_cost_per_reasoning_token"),
        (PriceTokenClass.InputAudio, "input_cost_per_audio_token"),
        (PriceTokenClass.OutputAudio, "output_cost_per_audio_token"),
    ];

    public static string Name(PriceTokenClass tokenClass) => All[(int)tokenClass].Name;

    public static PriceTokenClass? Parse(string name)
    {
        foreach (var (tokenClass, member) in All)
        {
            if (string.Equals(member, name, StringComparison.Ordinal))
            {
                return tokenClass;
            }
        }

        return null;
    }
}
