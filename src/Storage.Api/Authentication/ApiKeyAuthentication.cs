using Storage.Api.Errors;

namespace Storage.Api.Authentication;

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> on every <c>/v1</c> request and puts the caller's store view on the request;
/// answers 401 in OpenAI's shape (<c>invalid_api_key</c>) otherwise. With no key configured, every caller gets the
/// default store (the app refuses to start that way unless it listens on loopback only).
/// </summary>
internal sealed class ApiKeyAuthentication(RequestDelegate next, ApiKeyRing keys, ChatCompletionStore store)
{
    private const string Scheme = "Bearer ";

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        ChatCompletionStore? scoped;
        if (keys.IsAnonymous)
        {
            scoped = store;
        }
        else
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
                || (scoped = keys.Find(header.AsSpan(Scheme.Length).Trim())) is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await ApiErrors.WriteAsync(context.Response, StatusCodes.Status401Unauthorized,
                    header.Length == 0
                        ? "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."
                        : "Incorrect API key provided.",
                    code: "invalid_api_key");
                return;
            }
        }

        context.Features.Set(new Caller(scoped));
        await next(context);
    }
}
