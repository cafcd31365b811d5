namespace Storage;

/// <summary>The rule a rejected completion broke.</summary>
public enum ChatCompletionValidationRule
{
    /// <summary>The input is not well-formed JSON, or has a duplicate member.</summary>
    MalformedJson,

    /// <summary>A value has the wrong JSON type (a string where a number belongs, a number where an object belongs, …).</summary>
    InvalidValue,

    /// <summary>A required member is missing or <c>null</c>.</summary>
    Required,

    /// <summary>A number or timestamp is outside what can be stored (negative token counts, <c>created</c> past year 9999, …).</summary>
    OutOfRange,

    /// <summary>A string holds U+0000, which PostgreSQL <c>text</c> and <c>jsonb</c> cannot store.</summary>
    NulCharacter,

    /// <summary>A string holds a lone UTF-16 surrogate, which is not valid Unicode text.</summary>
    LoneSurrogate,

    /// <summary>Metadata over OpenAI's limits: more than 16 pairs, a key over 64 or a value over 512 characters.</summary>
    MetadataLimit,

    /// <summary>Message content over <see cref="ChatCompletionStoreOptions.MaxContentLength"/>.</summary>
    TooLarge,

    /// <summary>Two choices of one completion share an index.</summary>
    DuplicateChoiceIndex,
}
