using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Storage.Api.WebConsole;

/// <summary>
/// How the console turns stored values into display text. Everything here returns plain text, which Razor then
/// HTML-encodes; nothing returns markup.
/// </summary>
internal static class ConsoleText
{
    /// <summary>How many characters of one content block are shown before the rest is cut off (with a link to all of it).</summary>
    public const int BlockLimit = 20_000;

    private const int SnippetLimit = 140;

    // Relaxed escaping only for readability of the indented JSON: Razor encodes the result for HTML afterwards.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The text cut to <see cref="BlockLimit"/> characters unless <paramref name="full"/>, never inside a surrogate pair.</summary>
    public static (string Text, bool Truncated) Block(string text, bool full)
    {
        if (full || text.Length <= BlockLimit)
        {
            return (text, false);
        }

        var end = char.IsHighSurrogate(text[BlockLimit - 1]) ? BlockLimit - 1 : BlockLimit;
        return (text[..end], true);
    }

    /// <summary>One line of the answer for the list: the first choice's text, else its refusal, else the tools it called.</summary>
    public static string Snippet(ChatCompletion completion)
    {
        var message = completion.Choices.Count == 0 ? null : completion.Choices[0].Message;
        var text = message switch
        {
            null => "",
            { Content: { } content } => ContentText(content),
            { Refusal: { } refusal } => "Refused: " + refusal,
            { ToolCalls.Count: > 0 } => "Calls " + string.Join(", ", message.ToolCalls.Select(call => (call.Function?.Name ?? call.Custom?.Name ?? "?") + "()")),
            { FunctionCall.Name: { } name } => $"Calls {name}()",
            _ => "",
        };
        var line = new StringBuilder(Math.Min(text.Length, SnippetLimit + 1));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = line.Length > 0;
                continue;
            }

            if (space)
            {
                line.Append(' ');
                space = false;
            }

            line.Append(c);
            if (line.Length > SnippetLimit)
            {
                var cut = char.IsHighSurrogate(line[SnippetLimit - 1]) ? SnippetLimit - 1 : SnippetLimit;
                return line.ToString(0, cut) + "…";
            }
        }

        return line.ToString();
    }

    /// <summary>The text of content: the string, or the <c>text</c> of its parts one after the other.</summary>
    public static string ContentText(ChatMessageContent content)
    {
        if (content.Text is { } text)
        {
            return text;
        }

        var parts = content.Parts!.Value;
        if (parts.ValueKind != JsonValueKind.Array)
        {
            return parts.GetRawText();
        }

        return string.Join("\n", parts.EnumerateArray()
            .Where(part => part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            .Select(part => part.GetProperty("text").GetString()));
    }

    /// <summary>JSON text indented for reading; text that is not valid JSON (model-written arguments can be anything) comes back as it is.</summary>
    public static (string Text, bool IsJson) Pretty(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return ("", false);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return (JsonSerializer.Serialize(document.RootElement, Indented), true);
        }
        catch (JsonException)
        {
            return (json, false);
        }
    }

    /// <summary>A JSON value indented for reading.</summary>
    public static string Pretty(JsonElement value) => JsonSerializer.Serialize(value, Indented);

    /// <summary>The URL as a link target when it is an absolute http or https URL; <c>null</c> otherwise (<c>javascript:</c>, <c>data:</c>, relative…), so it is shown as text only.</summary>
    public static string? SafeHref(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri.AbsoluteUri
            : null;

    public static string Created(DateTimeOffset created) => created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Tokens(decimal tokens) => tokens.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Tokens(long tokens) => Tokens((decimal)tokens);

    /// <summary>A count the vendor may not have reported: a dash when it did not.</summary>
    public static string Tokens(long? tokens) => tokens is { } value ? Tokens((decimal)value) : "—";

    /// <summary>US dollars with as many decimals as the amount needs (at least two, at most ten).</summary>
    public static string Usd(decimal usd) => "$" + usd.ToString("#,0.00########", CultureInfo.InvariantCulture);

    public static string Usd(ChatCompletionCost? cost) => cost is null ? "—" : Usd(cost.Usd);

    public static string Duration(TimeSpan? duration) => duration switch
    {
        null => "—",
        { TotalSeconds: < 1 } short_ => short_.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        { } long_ => long_.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s",
    };

    public static string Number(double value, string format = "0.###") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>What the log probabilities of a choice's tokens come to: how many, their mean, the perplexity, and the least likely token.</summary>
    public static LogprobSummary? Summarise(IList<ChatTokenLogprob>? tokens)
    {
        var scored = tokens?.Where(token => token.Logprob is not null).ToList();
        if (scored is null || scored.Count == 0)
        {
            return null;
        }

        var mean = scored.Average(token => token.Logprob!.Value);
        var lowest = scored.MinBy(token => token.Logprob!.Value)!;
        return new LogprobSummary(tokens!.Count, mean, Math.Exp(-mean), lowest.Token ?? "", lowest.Logprob!.Value);
    }

    /// <summary>The extension members of a wire object as one indented JSON object, or <c>null</c> when it has none.</summary>
    public static string? Extras(WireObject value) =>
        value.AdditionalProperties is { Count: > 0 } extras ? JsonSerializer.Serialize(extras, Indented) : null;

    /// <param name="Mean">The mean log probability (natural log).</param>
    /// <param name="Perplexity">e to the minus mean: 1 when the model was sure of every token.</param>
    public sealed record LogprobSummary(int Count, double Mean, double Perplexity, string LowestToken, double Lowest);
}
