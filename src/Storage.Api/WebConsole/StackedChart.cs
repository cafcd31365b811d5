using System.Globalization;

namespace Storage.Api.WebConsole;

/// <summary>
/// A bar chart of one value per day, stacked by model, laid out on the server for an inline SVG: the page draws
/// rectangles and text at these coordinates, so the chart needs no script. The numbers are in the table under it.
/// </summary>
internal sealed class StackedChart
{
    public const double Width = 960;
    public const double Height = 260;
    private const double Left = 80;
    private const double Right = 10;
    private const double Top = 12;
    private const double Bottom = 28;

    /// <summary>Colours that stay apart for the common kinds of colour blindness (Tableau 10); models past ten reuse them.</summary>
    private static readonly string[] Palette =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    private StackedChart(IReadOnlyList<Bar> bars, IReadOnlyList<Label> dayLabels, IReadOnlyList<Label> scale, IReadOnlyList<double> gridLines)
    {
        Bars = bars;
        DayLabels = dayLabels;
        Scale = scale;
        GridLines = gridLines;
    }

    public IReadOnlyList<Bar> Bars { get; }

    public IReadOnlyList<Label> DayLabels { get; }

    public IReadOnlyList<Label> Scale { get; }

    /// <summary>The y of each horizontal grid line, the baseline first.</summary>
    public IReadOnlyList<double> GridLines { get; }

    public static double PlotLeft => Left;

    public static double PlotRight => Width - Right;

    public static string Colour(int modelIndex) => Palette[modelIndex % Palette.Length];

    /// <param name="days">Every day of the range, in order, with or without usage.</param>
    /// <param name="models">The models in legend order; a model's colour is its position here.</param>
    /// <param name="value">The value of one model on one day (0 when it had none).</param>
    /// <param name="format">How a value is written in the scale and the bars' titles.</param>
    public static StackedChart Build(IReadOnlyList<DateOnly> days, IReadOnlyList<string> models, Func<DateOnly, string, decimal> value, Func<decimal, string> format)
    {
        var totals = days.Select(day => models.Sum(model => value(day, model))).ToList();
        var max = NiceCeiling(totals.Count == 0 ? 0 : totals.Max());
        var plotHeight = Height - Top - Bottom;
        var slot = (PlotRight - Left) / Math.Max(days.Count, 1);
        var barWidth = Math.Max(slot * 0.75, 1);
        var bars = new List<Bar>();
        var dayLabels = new List<Label>();
        // Enough room for a "MM-dd" label every so many days.
        var labelEvery = Math.Max(1, (int)Math.Ceiling(44 / slot));
        for (var d = 0; d < days.Count; d++)
        {
            var x = Left + (d * slot) + ((slot - barWidth) / 2);
            var y = Height - Bottom;
            for (var m = 0; m < models.Count; m++)
            {
                var amount = value(days[d], models[m]);
                if (amount <= 0 || max <= 0)
                {
                    continue;
                }

                var height = (double)(amount / max) * plotHeight;
                y -= height;
                bars.Add(new Bar(x, y, barWidth, height, Colour(m),
                    $"{days[d].ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} · {models[m]}: {format(amount)}"));
            }

            if (d % labelEvery == 0)
            {
                dayLabels.Add(new Label(x + (barWidth / 2), Height - 8, days[d].ToString("MM-dd", CultureInfo.InvariantCulture)));
            }
        }

        var scale = new List<Label>();
        var grid = new List<double>();
        for (var step = 0; step <= 4; step++)
        {
            var y = Height - Bottom - (plotHeight * step / 4);
            grid.Add(y);
            scale.Add(new Label(Left - 6, y + 4, format(max * step / 4)));
        }

        return new StackedChart(bars, dayLabels, scale, grid);
    }

    /// <summary>The smallest 1, 2 or 5 times a power of ten at or above the value, so the scale's quarters are round numbers.</summary>
    private static decimal NiceCeiling(decimal value)
    {
        if (value <= 0)
        {
            return 0;
        }

        var power = (decimal)Math.Pow(10, Math.Floor(Math.Log10((double)value)));
        foreach (var step in new[] { 1m, 2m, 4m, 5m, 10m })
        {
            if (step * power >= value)
            {
                return step * power;
            }
        }

        return 10 * power;
    }

    /// <param name="Title">What the bar stands for, shown as its tooltip.</param>
    public sealed record Bar(double X, double Y, double Width, double Height, string Fill, string Title);

    public sealed record Label(double X, double Y, string Text);
}
