using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Storage.Api.Authentication;
using Storage.Api.Errors;
using Storage.Internal;

namespace Storage.Api.Endpoints;

/// <summary>
/// OpenAI's organisation Usage and Costs shapes over the caller's store view, so tools that read OpenAI's can read ours:
/// <c>GET /v1/organization/usage/completions</c> and <c>GET /v1/organization/costs</c>. Buckets start at
/// <c>start_time</c> and are <c>bucket_width</c> long; a page holds <c>limit</c> buckets (empty ones too, with no
/// results), and <c>next_page</c> is the cursor of the next.
/// </summary>
internal static class OrganizationUsageEndpoints
{
    private const string PagePrefix = "page_";

    // The group_by values OpenAI documents that the store has nothing for: accepted, and their fields are null.
    private static readonly string[] UngroupableUsage = ["project_id", "user_id", "api_key_id", "batch", "service_tier"];

    public static void Map(IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/organization").WithTags("Usage and costs");
        group.MapGet("/usage/completions", UsageAsync)
            .WithName("UsageCompletions")
            .WithSummary("Token usage of the stored completions per time bucket, in OpenAI's Usage API shape.")
            .WithDescription("start_time (required), end_time, bucket_width (1m, 1h, 1d), group_by=model, limit, page.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json");
        group.MapGet("/costs", CostsAsync)
            .WithName("Costs")
            .WithSummary("The cost of the stored completions per day, in OpenAI's Costs API shape (USD).")
            .WithDescription("start_time (required), end_time, bucket_width (1d), group_by=line_item (the model), limit, page.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json");
    }

    private static async Task<IResult> UsageAsync(HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var (width, defaultLimit, maxLimit) = Optional(query["bucket_width"]) switch
        {
            null or "1d" => (TimeSpan.FromDays(1), 7, 31),
            "1h" => (TimeSpan.FromHours(1), 24, 168),
            "1m" => (TimeSpan.FromMinutes(1), 60, 1440),
            _ => throw ApiErrorException.BadRequest("bucket_width must be 1m, 1h or 1d.", "bucket_width"),
        };
        var byModel = GroupBy(query, "model", UngroupableUsage);
        var range = Range(query, width, defaultLimit, maxLimit);
        var rows = await caller.Store.GetUsageBucketsAsync(range.Start, range.End, width, byModel, cancellationToken);
        return Page(range, width, rows, (writer, row) =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "organization.usage.completions.result");
            writer.WriteNumber("input_tokens", row.InputTokens);
            writer.WriteNumber("output_tokens", row.OutputTokens);
            writer.WriteNumber("input_cached_tokens", row.InputCachedTokens);
            writer.WriteNumber("input_audio_tokens", row.InputAudioTokens);
            writer.WriteNumber("output_audio_tokens", row.OutputAudioTokens);
            writer.WriteNumber("num_model_requests", row.Completions);
            writer.WriteNull("project_id");
            writer.WriteNull("user_id");
            writer.WriteNull("api_key_id");
            writer.WriteString("model", row.Model);
            writer.WriteNull("batch");
            writer.WriteNull("service_tier");
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> CostsAsync(HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var query = request.Query;
        if (Optional(query["bucket_width"]) is { } given && given != "1d")
        {
            throw ApiErrorException.BadRequest("bucket_width must be 1d.", "bucket_width");
        }

        var width = TimeSpan.FromDays(1);
        var byLineItem = GroupBy(query, "line_item", ["project_id"]);
        var range = Range(query, width, 7, 180);
        var rows = await caller.Store.GetUsageBucketsAsync(range.Start, range.End, width, byLineItem, cancellationToken);
        return Page(range, width, rows, (writer, row) =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "organization.costs.result");
            writer.WriteStartObject("amount");
            writer.WriteNumber("value", row.Cost);
            writer.WriteString("currency", "usd");
            writer.WriteEndObject();
            writer.WriteString("line_item", row.Model);
            writer.WriteNull("project_id");
            writer.WriteEndObject();
        });
    }

    private static JsonWriterResult Page(BucketRange range, TimeSpan width, IReadOnlyList<UsageBucket> rows, Action<Utf8JsonWriter, UsageBucket> writeResult) =>
        new(writer =>
        {
            var byStart = rows.ToLookup(r => r.BucketStart.ToUnixTimeSeconds());
            writer.WriteStartObject();
            writer.WriteString("object", "page");
            writer.WriteStartArray("data");
            for (var start = range.Start; start < range.End; start += width)
            {
                var end = start + width < range.RangeEnd ? start + width : range.RangeEnd;
                writer.WriteStartObject();
                writer.WriteString("object", "bucket");
                writer.WriteNumber("start_time", start.ToUnixTimeSeconds());
                writer.WriteNumber("end_time", end.ToUnixTimeSeconds());
                writer.WriteStartArray("results");
                foreach (var row in byStart[start.ToUnixTimeSeconds()])
                {
                    writeResult(writer, row);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            var hasMore = range.End < range.RangeEnd;
            writer.WriteBoolean("has_more", hasMore);
            writer.WriteString("next_page", hasMore ? PagePrefix + range.End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) : null);
            writer.WriteEndObject();
        });

    /// <summary>The buckets of this page: from the page's start (the cursor, else start_time) for limit buckets, not past the range's end.</summary>
    private static BucketRange Range(IQueryCollection query, TimeSpan width, int defaultLimit, int maxLimit)
    {
        var startTime = Seconds(query["start_time"], "start_time") ?? throw ApiErrorException.BadRequest("start_time is required (Unix seconds).", "start_time");
        var rangeEnd = Seconds(query["end_time"], "end_time") ?? DateTimeOffset.UtcNow;
        if (rangeEnd <= startTime)
        {
            throw ApiErrorException.BadRequest("end_time must be after start_time.", "end_time");
        }

        var limit = defaultLimit;
        if (Optional(query["limit"]) is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
        {
            throw ApiErrorException.BadRequest($"limit must be an integer from 1 to {maxLimit}.", "limit");
        }

        var pageStart = startTime;
        if (Optional(query["page"]) is { } page)
        {
            // The cursor is the start of a bucket of this range.
            if (!page.StartsWith(PagePrefix, StringComparison.Ordinal)
                || !long.TryParse(page.AsSpan(PagePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || seconds < startTime.ToUnixTimeSeconds() || seconds >= rangeEnd.ToUnixTimeSeconds()
                || (seconds - startTime.ToUnixTimeSeconds()) % (long)width.TotalSeconds != 0)
            {
                throw ApiErrorException.BadRequest("page is not a cursor of this range.", "page");
            }

            pageStart = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        var pageEnd = pageStart + (width * limit);
        return new BucketRange(pageStart, pageEnd < rangeEnd ? pageEnd : rangeEnd, rangeEnd);
    }

    private static bool GroupBy(IQueryCollection query, string supported, string[] ignored)
    {
        var grouped = false;
        foreach (var value in query["group_by"].Concat(query["group_by[]"]).SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (value == supported)
            {
                grouped = true;
            }
            else if (!ignored.Contains(value, StringComparer.Ordinal))
            {
                throw ApiErrorException.BadRequest($"group_by: '{value}' is not supported; use {supported}.", "group_by");
            }
        }

        return grouped;
    }

    private static DateTimeOffset? Seconds(StringValues values, string name)
    {
        if (Optional(values) is not { } text)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
            && seconds >= 0 && seconds <= 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw ApiErrorException.BadRequest($"{name} must be Unix seconds.", name);
    }

    private static string? Optional(StringValues values) => values.Count == 0 || string.IsNullOrEmpty(values[0]) ? null : values[0];

    private sealed record BucketRange(DateTimeOffset Start, DateTimeOffset End, DateTimeOffset RangeEnd);
}
