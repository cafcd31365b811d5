using System.Text.Json;

namespace Storage;

// TEMPORARY: stands in for the library's chunk assembler landing on main; removed at the merge.
public sealed class ChatCompletionChunkAssembler
{
    public void Add(JsonElement chunk) => _ = chunk;
    public ChatCompletion ToCompletion() => throw new InvalidOperationException("shim");
}
