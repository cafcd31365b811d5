namespace Storage.Api.Errors;

/// <summary>A request the API refuses, answered with OpenAI's error object and this status.</summary>
internal sealed class ApiErrorException(int statusCode, string message, string? param = null, string? code = null, string type = ApiErrors.InvalidRequest)
    : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public string Type { get; } = type;

    public static ApiErrorException BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, param, code);
}
