using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Storage.Api.WebConsole.Pages;

/// <summary>
/// One stored completion: its request, every choice, usage, cost and timings; its metadata edited with the version read
/// as the concurrency check; a delete behind a confirmation; and the wire JSON as stored (<c>?handler=raw</c>). The
/// completion is named by <c>?id=</c>, since vendor ids can hold any character, even none.
/// </summary>
public sealed class CompletionModel : ConsolePageModel
{
    /// <summary>Blank rows offered under the existing pairs for new ones.</summary>
    private const int BlankMetadataRows = 3;

    public string Id { get; private set; } = "";

    internal StoredChatCompletion? Stored { get; private set; }

    /// <summary>The metadata rows of the form: the stored pairs, or what was sent when it was refused, then blank rows.</summary>
    internal IReadOnlyList<KeyValuePair<string, string>> MetadataRows { get; private set; } = [];

    /// <summary>Whether contents are shown whole rather than cut at <see cref="ConsoleText.BlockLimit"/> characters.</summary>
    public bool Full { get; private set; }

    public bool ConfirmingDelete { get; private set; }

    public string SelfUrl => IndexModel.CompletionUrl(Id);

    public string Handler(string handler) => SelfUrl + "&handler=" + handler;

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (!ReadId())
        {
            return Page();
        }

        Full = Request.Query.ContainsKey("full");
        ConfirmingDelete = Request.Query["confirm"] == "delete";
        if (Request.Query.ContainsKey("saved"))
        {
            Notice = "Metadata saved.";
        }

        await LoadAsync(cancellationToken);
        return Page();
    }

    /// <summary>The completion's wire JSON exactly as the API returns it.</summary>
    public async Task<IActionResult> OnGetRawAsync(CancellationToken cancellationToken)
    {
        if (!ReadId())
        {
            return Page();
        }

        var completion = await Store.GetAsync(Id, cancellationToken);
        if (completion is null)
        {
            return NotFoundPage();
        }

        return Content(ChatCompletionJson.Serialize(completion), "application/json; charset=utf-8");
    }

    public async Task<IActionResult> OnPostMetadataAsync(
        [FromForm] string? version, [FromForm(Name = "key")] List<string?> keys, [FromForm(Name = "value")] List<string?> values, CancellationToken cancellationToken)
    {
        if (!ReadId())
        {
            return Page();
        }

        var rows = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < Math.Max(keys.Count, values.Count); i++)
        {
            var key = i < keys.Count ? keys[i] ?? "" : "";
            var value = i < values.Count ? values[i] ?? "" : "";
            if (key.Length > 0 || value.Length > 0)
            {
                rows.Add(KeyValuePair.Create(key, value));
            }
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        string? problem = null;
        foreach (var (key, value) in rows)
        {
            if (key.Length == 0)
            {
                problem = $"Not saved: the value '{value}' has no key.";
            }
            else if (!metadata.TryAdd(key, value))
            {
                problem = $"Not saved: the key '{key}' is given twice.";
            }
        }

        if (problem is null && string.IsNullOrEmpty(version))
        {
            problem = "Not saved: the form carried no version; reload the page and try again.";
        }

        if (problem is null)
        {
            try
            {
                await Store.UpdateMetadataAsync(Id, metadata.Count == 0 ? null : metadata, version, cancellationToken);
                return Redirect(SelfUrl + "&saved=1");
            }
            catch (ChatCompletionConcurrencyException)
            {
                // What is stored now is shown, with its version: the user sees the other change before making theirs again.
                Fail(StatusCodes.Status409Conflict,
                    "Not saved: this completion changed after you opened it (its metadata was saved from elsewhere, or it was deleted). "
                    + "The page now shows what is stored; make your change again if it is still wanted.");
                await LoadAsync(cancellationToken);
                return Page();
            }
            catch (ChatCompletionNotFoundException)
            {
                return NotFoundPage();
            }
            catch (ChatCompletionValidationException invalid)
            {
                problem = "Not saved: " + invalid.Message;
            }
        }

        Fail(StatusCodes.Status400BadRequest, problem);
        await LoadAsync(cancellationToken);
        if (Stored is not null)
        {
            // The user's rows stay in the form to be corrected, under the version they were editing.
            Stored = Stored with { Version = version ?? "" };
            MetadataRows = [.. rows, .. Blank()];
        }

        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(CancellationToken cancellationToken)
    {
        if (!ReadId())
        {
            return Page();
        }

        return await Store.DeleteAsync(Id, cancellationToken) ? Redirect(WebConsole.PathBase + "?deleted=1") : NotFoundPage();
    }

    /// <summary>The request's <c>messages</c>, when the completion was stored with its request.</summary>
    internal IReadOnlyList<JsonElement> RequestMessages() =>
        Stored?.Completion.Call?.Request is { ValueKind: JsonValueKind.Object } request
        && request.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array
            ? [.. messages.EnumerateArray()]
            : [];

    /// <summary>The request without its messages (model, tools, temperature…), indented.</summary>
    internal string? RequestParameters()
    {
        if (Stored?.Completion.Call?.Request is not { ValueKind: JsonValueKind.Object } request)
        {
            return null;
        }

        var rest = request.EnumerateObject().Where(member => member.Name != "messages").ToDictionary(member => member.Name, member => member.Value, StringComparer.Ordinal);
        return rest.Count == 0 ? null : ConsoleText.Pretty(JsonSerializer.SerializeToElement(rest));
    }

    private bool ReadId()
    {
        if (Request.Query.TryGetValue("id", out var id))
        {
            Id = id[0] ?? "";
            return true;
        }

        Fail(StatusCodes.Status400BadRequest, "Which completion? The address has no id (?id=…).");
        return false;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Stored = await Store.GetWithVersionAsync(Id, cancellationToken);
        if (Stored is null)
        {
            Fail(StatusCodes.Status404NotFound, "No completion with this id is stored here (it was deleted, or it is another tenant's).");
            return;
        }

        MetadataRows = [.. (Stored.Completion.Metadata ?? new Dictionary<string, string>()).OrderBy(pair => pair.Key, StringComparer.Ordinal), .. Blank()];
    }

    private PageResult NotFoundPage()
    {
        Stored = null;
        Fail(StatusCodes.Status404NotFound, "No completion with this id is stored here (it was deleted, or it is another tenant's).");
        return Page();
    }

    private static IEnumerable<KeyValuePair<string, string>> Blank() => Enumerable.Repeat(KeyValuePair.Create("", ""), BlankMetadataRows);
}
