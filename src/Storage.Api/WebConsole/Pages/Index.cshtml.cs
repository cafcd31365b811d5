using Microsoft.AspNetCore.WebUtilities;

namespace Storage.Api.WebConsole.Pages;

/// <summary>The stored completions, newest first, a page at a time (keyset, like the API's <c>after</c>), filtered by the URL's <see cref="ListQuery"/>.</summary>
public sealed class IndexModel : ConsolePageModel
{
    internal ListQuery Query { get; private set; } = null!;

    internal ChatCompletionPage? Results { get; private set; }

    public static string CompletionUrl(string id) => QueryHelpers.AddQueryString(WebConsole.PathBase + "/completion", "id", id);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Query = ListQuery.Parse(Request.Query);
        // Only a flag: text from the URL is never shown as the console's own message.
        if (Request.Query.ContainsKey("deleted"))
        {
            Notice = "The completion was deleted.";
        }

        if (Query.Errors.Count > 0)
        {
            Fail(StatusCodes.Status400BadRequest, string.Join(" ", Query.Errors));
            return;
        }

        try
        {
            Results = await Store.ListAsync(Query.Filter, Query.After, Query.Limit, ChatCompletionOrder.Descending, cancellationToken);
        }
        catch (ChatCompletionNotFoundException)
        {
            Fail(StatusCodes.Status404NotFound, $"The completion this page continues after ({Query.After}) is no longer stored: start again from the first page.");
        }
    }
}
