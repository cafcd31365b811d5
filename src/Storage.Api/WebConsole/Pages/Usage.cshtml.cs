using System.Globalization;

namespace Storage.Api.WebConsole.Pages;

/// <summary>
/// Tokens and cost per UTC day, stacked by model, over a range of days (<c>?from=</c> and <c>?to=</c>, inclusive; the
/// last 30 days by default), from the store's usage totals (<see cref="ChatCompletionStore.GetUsageAsync"/>, which reads
/// whole days from the per-day rollup, so deleted completions still count), with the numbers in a table.
/// </summary>
public sealed class UsageModel : ConsolePageModel
{
    public const int MaxDays = 366;

    public DateOnly From { get; private set; }

    public DateOnly To { get; private set; }

    /// <summary>The day and model rows with any usage, by day then model.</summary>
    internal IReadOnlyList<ChatCompletionUsageTotals> Rows { get; private set; } = [];

    /// <summary>The models, most tokens first; a model's colour in the charts is its position here.</summary>
    internal IReadOnlyList<string> Models { get; private set; } = [];

    internal StackedChart? Tokens { get; private set; }

    internal StackedChart? Cost { get; private set; }

    internal ChatCompletionUsageTotals Total { get; private set; } = new();

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        To = Day("to", today);
        From = Day("from", To.AddDays(-29));
        if (Notice is not null)
        {
            return;
        }

        if (From > To || To.DayNumber - From.DayNumber >= MaxDays)
        {
            Fail(StatusCodes.Status400BadRequest, $"The range must run forward and cover at most {MaxDays} days.");
            return;
        }

        var start = new DateTimeOffset(From.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var filter = new ChatCompletionFilter { CreatedFrom = start, CreatedTo = new DateTimeOffset(To.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(1).AddSeconds(-1) };
        var rows = await Store.GetUsageAsync(filter, new ChatCompletionUsageGrouping { ByDay = true, ByModel = true }, cancellationToken);
        Rows = [.. rows.Where(row => row.Completions > 0).OrderBy(row => row.Day).ThenBy(row => row.Model, StringComparer.Ordinal)];
        Models = [.. Rows.GroupBy(row => row.Model ?? "").OrderByDescending(group => group.Sum(row => row.TotalTokens)).ThenBy(group => group.Key, StringComparer.Ordinal).Select(group => group.Key)];
        Total = new ChatCompletionUsageTotals
        {
            Completions = Rows.Sum(row => row.Completions),
            PromptTokens = Rows.Sum(row => row.PromptTokens),
            CompletionTokens = Rows.Sum(row => row.CompletionTokens),
            TotalTokens = Rows.Sum(row => row.TotalTokens),
            CachedTokens = Rows.Sum(row => row.CachedTokens),
            ReasoningTokens = Rows.Sum(row => row.ReasoningTokens),
            Cost = Rows.Sum(row => row.Cost),
            Unpriced = Rows.Sum(row => row.Unpriced),
        };

        var days = Enumerable.Range(0, To.DayNumber - From.DayNumber + 1).Select(From.AddDays).ToList();
        var byDayAndModel = Rows.ToDictionary(row => (row.Day!.Value, row.Model ?? ""));
        decimal Value(DateOnly day, string model, Func<ChatCompletionUsageTotals, decimal> pick) =>
            byDayAndModel.TryGetValue((day, model), out var row) ? pick(row) : 0;
        Tokens = StackedChart.Build(days, Models, (day, model) => Value(day, model, row => row.TotalTokens), ConsoleText.Tokens);
        Cost = StackedChart.Build(days, Models, (day, model) => Value(day, model, row => row.Cost), ConsoleText.Usd);
    }

    private DateOnly Day(string name, DateOnly byDefault)
    {
        var text = Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return byDefault;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        Fail(StatusCodes.Status400BadRequest, $"'{name}' must be a UTC date such as 2025-01-31; '{text}' is not.");
        return byDefault;
    }
}
