namespace Storage;

/// <summary>
/// A class of tokens that has a price of its own. Each is stored in the price table under the name of the member of
/// LiteLLM's <c>model_prices_and_context_window.json</c> that holds it (<see cref="ChatCompletionPrice.Member"/>).
/// </summary>
public enum PriceTokenClass
{
    /// <summary>Prompt tokens with no price of their own (<c>input_cost_per_token</c>).</summary>
    Input,

    /// <summary>Completion tokens with no price of their own (<c>output_cost_per_token</c>).</summary>
    Output,

    /// <summary>Prompt tokens read from the vendor's cache (<c>cache_read_input_token_cost</c>); else priced as <see cref="Input"/>.</summary>
    CacheRead,

    /// <summary>Prompt tokens written to the vendor's cache (<c>cache_creation_input_token_cost</c>); else priced as <see cref="Input"/>.</summary>
    CacheWrite,

    /// <summary>Completion tokens spent reasoning (<c>output_cost_per_reasoning_token</c>); else priced as <see cref="Output"/>.</summary>
    Reasoning,

    /// <summary>Prompt tokens of audio (<c>input_cost_per_audio_token</c>); else priced as <see cref="Input"/>.</summary>
    InputAudio,

    /// <summary>Completion tokens of audio (<c>output_cost_per_audio_token</c>); else priced as <see cref="Output"/>.</summary>
    OutputAudio,
}
