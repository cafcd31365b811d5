using Microsoft.AspNetCore.Mvc.RazorPages;
using Storage.Api.Authentication;

namespace Storage.Api.WebConsole;

/// <summary>A console page: it reads and writes through the store view of the signed-in caller, which <see cref="ConsoleAccess"/> put on the request.</summary>
public abstract class ConsolePageModel : PageModel
{
    /// <summary>Something to tell the user at the top of the page: an error, or what was just done.</summary>
    public string? Notice { get; protected set; }

    /// <summary>Whether <see cref="Notice"/> reports a failure.</summary>
    public bool NoticeIsError { get; protected set; }

    private protected ChatCompletionStore Store =>
        HttpContext.Features.Get<Caller>()?.Store ?? throw new InvalidOperationException("The console request passed no sign-in check.");

    /// <summary>Shows an error and answers with this status, keeping the page.</summary>
    private protected void Fail(int statusCode, string message)
    {
        Response.StatusCode = statusCode;
        Notice = message;
        NoticeIsError = true;
    }
}
