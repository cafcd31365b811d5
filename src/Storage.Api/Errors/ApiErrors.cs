using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Storage.Connection;

namespace Storage.Api.Errors;

/// <summary>
/// Writes failures in OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>, which its SDKs turn into
/// typed exceptions, and maps the library's exceptions to statuses.
/// </summary>
internal static partial class ApiErrors
{
    public const string InvalidRequest = "invalid_request_error";
    public const string ServerError = "server_error";

    public static async Task WriteAsync(
        HttpResponse response, int statusCode, string message, string type = InvalidRequest, string? param = null, string? code = null)
    {
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, Endpoints.JsonWriterResult.Options);
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        writer.WriteString("param", param);
        writer.WriteString("code", code);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(response.HttpContext.RequestAborted);
    }

    public static Task NotFoundAsync(HttpResponse response, string id, string param = "completion_id") =>
        WriteAsync(response, StatusCodes.Status404NotFound, $"Completion {id} not found", param: param, code: "not_found");

    /// <summary>Answers a request that failed with <paramref name="error"/>, when the response has not started; false when it is not one of ours to answer.</summary>
    public static async Task<bool> TryHandleAsync(HttpContext context, Exception error, ILogger logger)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return false;
        }

        switch (error)
        {
            case ApiErrorException api:
                await WriteAsync(response, api.StatusCode, api.Message, api.Type, api.Param, api.Code);
                return true;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
                await WriteAsync(response, StatusCodes.Status413PayloadTooLarge,
                    $"The request body is larger than the limit of {limit} bytes (Api:MaxRequestBodyBytes).", code: "request_too_large");
                return true;
            case BadHttpRequestException bad:
                await WriteAsync(response, bad.StatusCode, bad.Message);
                return true;
            case JsonException json:
                await WriteAsync(response, StatusCodes.Status400BadRequest,
                    $"The request body is not valid JSON: {FirstSentence(json.Message)}", code: "invalid_json");
                return true;
            case ChatCompletionNotFoundException notFound:
                await NotFoundAsync(response, notFound.Id, notFound.ParameterName == "after" ? "after" : "completion_id");
                return true;
            case ChatCompletionValidationException invalid:
                await WriteAsync(response, StatusCodes.Status400BadRequest, invalid.Message, param: invalid.Field, code: "invalid_value");
                return true;
            case ChatCompletionConcurrencyException conflict:
                await WriteAsync(response, StatusCodes.Status409Conflict, conflict.Message, code: "conflict");
                return true;
            case ChatCompletionStoreException store:
                // The store's message names the operation and the SQLSTATE only, never stored values.
                LogStoreFailed(logger, store, store.Message);
                await WriteAsync(response, store.IsTransient ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError,
                    store.Message, ServerError);
                return true;
            case StorageConnectionException connection:
                LogNoDatabase(logger, connection, connection.Message);
                await WriteAsync(response, StatusCodes.Status503ServiceUnavailable, "The database is unavailable.", ServerError);
                return true;
            default:
                return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The store failed: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "No database: {Reason}")]
    private static partial void LogNoDatabase(ILogger logger, Exception exception, string reason);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" Path:", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
