using Microsoft.EntityFrameworkCore;

namespace Storage.Internal;

/// <summary>
/// The migration's functions that read searchable text out of jsonb columns (<c>storage_search_parts</c>,
/// <c>storage_search_tool_calls</c>, <c>storage_search_request</c>), mapped for LINQ; the trigram indexes, when a
/// deployment turns them on, are on these same expressions. Only translated to SQL, never run in .NET.
/// </summary>
internal static class SearchText
{
    public const string PartsFunction = "storage_search_parts";
    public const string ToolCallsFunction = "storage_search_tool_calls";
    public const string RequestFunction = "storage_search_request";

    /// <summary>The text and refusal of each content part, one a line.</summary>
    public static string? Parts(string? contentParts) => throw new NotSupportedException(nameof(Parts));

    /// <summary>The name and arguments of each tool call, one a line.</summary>
    public static string? ToolCalls(IList<ChatToolCall>? toolCalls) => throw new NotSupportedException(nameof(ToolCalls));

    /// <summary>The messages' content, text parts, refusals and tool calls, one a line.</summary>
    public static string? Request(string? request) => throw new NotSupportedException(nameof(Request));

    public static void Map(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDbFunction(typeof(SearchText).GetMethod(nameof(Parts))!).HasName(PartsFunction);
        // The argument is the converted column itself, jsonb; the CLR type has no mapping of its own.
        modelBuilder.HasDbFunction(typeof(SearchText).GetMethod(nameof(ToolCalls))!).HasName(ToolCallsFunction)
            .HasParameter("toolCalls").HasStoreType("jsonb");
        modelBuilder.HasDbFunction(typeof(SearchText).GetMethod(nameof(Request))!).HasName(RequestFunction);
    }
}
