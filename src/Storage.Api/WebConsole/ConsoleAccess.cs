using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Storage.Api.Authentication;

namespace Storage.Api.WebConsole;

/// <summary>
/// Guards every <c>/console</c> request. It sends the console's security headers, and puts the signed-in caller's
/// store view on the request as a <see cref="Caller"/>, exactly as the API's bearer check does for <c>/v1</c>. A key
/// entered on the login page signs the user in with a cookie that holds the key's hash. With no key configured, every
/// caller gets the default store (the app refuses to start that way unless it listens on loopback only). Without a
/// valid sign-in, pages redirect to the login page.
/// </summary>
internal sealed class ConsoleAccess(RequestDelegate next, ApiKeyRing keys, ChatCompletionStore store)
{
    /// <summary>
    /// No script at all, styles from our own stylesheet only (no inline style), no plugin, no framing, forms post only
    /// back here: whatever a stored completion holds, the page cannot run it or send it elsewhere.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public const string LoginPath = WebConsole.PathBase + "/login";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments(WebConsole.PathBase, StringComparison.OrdinalIgnoreCase, out var rest))
        {
            await next(context);
            return;
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // Links in completions (citations) must not tell the cited site which completion was being read.
        headers["Referrer-Policy"] = "no-referrer";
        if (rest.Equals("/console.css", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        // Pages hold stored content: never cached. (What antiforgery sets on pages with a form, so it need not override it.)
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";
        if (await SignedInStoreAsync(context) is { } scoped)
        {
            context.Features.Set(new Caller(scoped));
        }
        else if (!request.Path.StartsWithSegments(LoginPath, StringComparison.OrdinalIgnoreCase))
        {
            var back = request.Method == HttpMethods.Get ? request.PathBase + request.Path + request.QueryString : WebConsole.PathBase;
            // 303: after a POST the browser follows with a GET.
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            headers.Location = QueryHelpers.AddQueryString(LoginPath, "returnUrl", back);
            return;
        }

        await next(context);
        if (context.Response is { StatusCode: >= 400, HasStarted: false, ContentLength: null, ContentType: null } response)
        {
            await WriteStatusPageAsync(response);
        }
    }

    /// <summary>Whether the request may look: the default store when no key is configured, else the store of the signed-in key (when it is still configured).</summary>
    private async Task<ChatCompletionStore?> SignedInStoreAsync(HttpContext context)
    {
        if (keys.IsAnonymous)
        {
            return store;
        }

        var ticket = await context.AuthenticateAsync(WebConsole.Scheme);
        if (ticket is not { Succeeded: true, Principal: { } principal }
            || principal.FindFirst(WebConsole.KeyHashClaim)?.Value is not { Length: 64 } hex
            || !hex.All(char.IsAsciiHexDigit)
            || keys.FindHash(Convert.FromHexString(hex)) is not { } scoped)
        {
            return null;
        }

        context.User = principal;
        return scoped;
    }

    /// <summary>A plain page for the statuses that reach here without a body (routing's 404 and 405, antiforgery's 400).</summary>
    private static Task WriteStatusPageAsync(HttpResponse response)
    {
        var explanation = response.StatusCode switch
        {
            StatusCodes.Status400BadRequest =>
                "The form was not accepted: it was stale, or it was not sent from this console. Go back, reload the page and try again.",
            StatusCodes.Status404NotFound => "There is no console page here.",
            StatusCodes.Status405MethodNotAllowed => "This page does not accept that method.",
            _ => "The request could not be served.",
        };
        response.ContentType = "text/html; charset=utf-8";
        var status = response.StatusCode.ToString(CultureInfo.InvariantCulture);
        // Only our own fixed text goes into this page, never anything from the request.
        return response.WriteAsync(
            $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} · Storage console</title>"
            + $"<link rel=\"stylesheet\" href=\"{WebConsole.PathBase}/console.css\"></head><body><main><h1>{status}</h1>"
            + $"<p class=\"notice error\">{explanation}</p><p><a href=\"{WebConsole.PathBase}\">Back to the console</a></p></main></body></html>");
    }
}
