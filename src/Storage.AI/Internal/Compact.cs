using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Storage.AI.Internal;

/// <summary>The abstraction's serializer options, unindented: arguments and results are stored as a vendor would send them.</summary>
internal static class Compact
{
    public static JsonSerializerOptions Options { get; } = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
}
