using System.Text.Json;
using Xunit;

namespace Storage.Tests.Support;

/// <summary>Semantic JSON equality: same members at every level, same values, numbers equal by value, member order free.</summary>
public static class JsonAssert
{
    public static void SemanticallyEqual(string expected, string actual)
    {
        using var left = JsonDocument.Parse(expected);
        using var right = JsonDocument.Parse(actual);
        var difference = FirstDifference(left.RootElement, right.RootElement, "$");
        Assert.True(difference is null, $"JSON differs at {difference}");
    }

    public static string? FirstDifferenceOf(string expected, string actual)
    {
        using var left = JsonDocument.Parse(expected);
        using var right = JsonDocument.Parse(actual);
        return FirstDifference(left.RootElement, right.RootElement, "$");
    }

    public static string? FirstDifference(JsonElement expected, JsonElement actual, string path)
    {
        if (expected.ValueKind != actual.ValueKind)
        {
            return $"{path}: expected {expected.ValueKind} {Excerpt(expected)}, got {actual.ValueKind} {Excerpt(actual)}";
        }

        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedMembers = expected.EnumerateObject().ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
                var actualMembers = actual.EnumerateObject().ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
                foreach (var name in expectedMembers.Keys.Union(actualMembers.Keys))
                {
                    if (!expectedMembers.TryGetValue(name, out var e))
                    {
                        return $"{path}.{name}: unexpected member";
                    }

                    if (!actualMembers.TryGetValue(name, out var a))
                    {
                        return $"{path}.{name}: missing member";
                    }

                    if (FirstDifference(e, a, $"{path}.{name}") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var expectedItems = expected.EnumerateArray().ToList();
                var actualItems = actual.EnumerateArray().ToList();
                if (expectedItems.Count != actualItems.Count)
                {
                    return $"{path}: expected {expectedItems.Count} items, got {actualItems.Count}";
                }

                for (var i = 0; i < expectedItems.Count; i++)
                {
                    if (FirstDifference(expectedItems[i], actualItems[i], $"{path}[{i}]") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case JsonValueKind.Number:
                return NumbersEqual(expected, actual) ? null : $"{path}: expected {expected.GetRawText()}, got {actual.GetRawText()}";
            case JsonValueKind.String:
                return expected.GetString() == actual.GetString() ? null : $"{path}: expected {Excerpt(expected)}, got {Excerpt(actual)}";
            default:
                return null;
        }
    }

    private static bool NumbersEqual(JsonElement expected, JsonElement actual)
    {
        if (expected.TryGetDecimal(out var e) && actual.TryGetDecimal(out var a) && e != 0m)
        {
            return e == a;
        }

        return expected.GetDouble().Equals(actual.GetDouble());
    }

    private static string Excerpt(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length <= 80 ? text : text[..80] + "…";
    }
}
