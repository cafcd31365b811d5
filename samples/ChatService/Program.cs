using System.Text.Json;
using Storage;
using Storage.Migrations;

// A service that keeps the completions it receives. The database is ConnectionStrings:Storage (appsettings.json, or
// ConnectionStrings__Storage in the environment).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddChatCompletionStore();
builder.Services.AddHealthChecks().AddChatCompletionStore();

var app = builder.Build();

// Development only: `dotnet run -- --migrate=true` applies the store's migrations from code before serving. In
// production, run the idempotent script or the bundle from the deployment pipeline instead (see the README).
if (app.Configuration.GetValue<bool>("migrate"))
{
    await StorageMigrator.MigrateAsync(app.Configuration.GetConnectionString("Storage")!, app.Lifetime.ApplicationStopping);
}

// Store a completion: the body is the vendor's wire JSON.
app.MapPost("/completions", async (HttpRequest request, ChatCompletionStore store, CancellationToken cancellationToken) =>
{
    ChatCompletion completion;
    try
    {
        completion = await ChatCompletionJson.ParseAsync(request.Body, cancellationToken);
    }
    catch (JsonException e)
    {
        return Results.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
    }

    try
    {
        var outcome = await store.SaveAsync(completion, cancellationToken);
        return Results.Json(new { id = completion.Id, outcome = outcome.ToString() },
            statusCode: outcome == SaveOutcome.Stored ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }
    catch (ChatCompletionValidationException e)
    {
        return Results.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
    }
});

// Read it back, as the vendor sent it.
app.MapGet("/completions/{id}", async (string id, ChatCompletionStore store, CancellationToken cancellationToken) =>
    await store.GetAsync(id, cancellationToken) is { } completion
        ? Results.Text(ChatCompletionJson.Serialize(completion), "application/json")
        : Results.NotFound());

app.MapHealthChecks("/health");

await app.RunAsync();
