namespace Storage.Api.Errors;

/// <summary>An endpoint's answer in OpenAI's error shape.</summary>
internal sealed class ErrorResult(int statusCode, string message, string? param = null, string? code = null, string type = ApiErrors.InvalidRequest) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext) => ApiErrors.WriteAsync(httpContext.Response, statusCode, message, type, param, code);
}
