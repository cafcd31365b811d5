namespace Storage.Api.Authentication;

/// <summary>
/// Who is calling, as far as storage is concerned: the store view their key is scoped to (the tenant's, or the default
/// store). Endpoints take it as a parameter; <see cref="ApiKeyAuthentication"/> has put it on the request.
/// </summary>
internal sealed class Caller(ChatCompletionStore store)
{
    public ChatCompletionStore Store { get; } = store;

    /// <summary>Minimal APIs bind endpoint parameters of this type through this method.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Caller?>(context.Features.Get<Caller>()
            ?? throw new InvalidOperationException("The request passed no API key check."));
}
