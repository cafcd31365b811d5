using Storage.Api.Authentication;
using Storage.Internal;

namespace Storage.Api.Endpoints;

/// <summary>
/// <c>POST /v1/storage/import</c>: JSON Lines of completions (one wire-format completion a line, blank lines ignored),
/// streamed into the store's bulk path. A bad line is reported with its number and reason and the rest are still stored;
/// so is a line that is not valid UTF-8 (the body is read as bytes, never decoded leniently), with the byte where it goes wrong.
/// </summary>
internal static class ImportEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) =>
        routes.MapPost("/v1/storage/import", ImportAsync)
            .WithTags("Storage")
            .WithName("ImportChatCompletions")
            .WithSummary("Stores completions sent as JSON Lines; answers how many were stored, already stored and rejected, with the rejected lines' numbers and reasons.")
            .WithDescription("The body is JSON Lines (application/x-ndjson): one chat.completion in the wire format a line; blank lines are ignored. "
                + "The body must be UTF-8: a line that is not is rejected with the byte where it goes wrong, never stored with replacement characters; "
                + "a UTF-8 byte order mark at the start is skipped. The content type is not checked. Lines are stored in batches as they are read, so a failure part-way leaves the earlier batches stored; "
                + "sending the same lines again stores nothing twice.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json");

    private static async Task<IResult> ImportAsync(HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var rejections = new List<(long Line, string? Param, string Message)>();
        long stored = 0, alreadyStored = 0;
        // Line numbers of the completions handed to the store and not yet answered: at most a batch or two, since the
        // store answers in input order as each batch commits.
        var pending = new Queue<long>();
        await foreach (var result in caller.Store.SaveManyAsync(ParseAsync(), cancellationToken))
        {
            var line = pending.Dequeue();
            switch (result)
            {
                case { Error: ChatCompletionValidationException invalid }:
                    rejections.Add((line, invalid.Field, invalid.Message));
                    break;
                case { Error: { } error }:
                    rejections.Add((line, null, error.Message));
                    break;
                case { Outcome: SaveOutcome.Stored }:
                    stored++;
                    break;
                default:
                    alreadyStored++;
                    break;
            }
        }

        return new JsonWriterResult(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "storage.import");
            writer.WriteNumber("stored", stored);
            writer.WriteNumber("already_stored", alreadyStored);
            writer.WriteNumber("rejected", rejections.Count);
            writer.WriteStartArray("errors");
            foreach (var (line, param, message) in rejections.OrderBy(rejection => rejection.Line))
            {
                writer.WriteStartObject();
                writer.WriteNumber("line", line);
                writer.WriteString("param", param);
                writer.WriteString("message", message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });

        // Lines that do not parse are rejected here and never reach the store.
        async IAsyncEnumerable<ChatCompletion> ParseAsync()
        {
            await foreach (var line in JsonLines.ReadAsync(request.BodyReader, cancellationToken))
            {
                ChatCompletion completion;
                try
                {
                    completion = JsonLines.Parse(line.Bytes);
                }
                catch (ChatCompletionValidationException invalid)
                {
                    rejections.Add((line.Number, invalid.Field, invalid.Message));
                    continue;
                }

                pending.Enqueue(line.Number);
                yield return completion;
            }
        }
    }
}
