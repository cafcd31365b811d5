using Storage.Api;
using Storage.Connection;

// Ctrl+C and SIGTERM stop the host gracefully (ASP.NET Core's default console lifetime).
WebApplication app;
try
{
    app = await ApiApp.BuildAsync(args);
}
catch (Exception e) when (e is ApiConfigurationException or StorageConnectionException)
{
    await Console.Error.WriteLineAsync($"storage-api: {e.Message}");
    return 1;
}

await using (app)
{
    await app.RunAsync();
}

return 0;
