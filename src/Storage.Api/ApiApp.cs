using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;
using Storage.Api.Authentication;
using Storage.Api.Configuration;
using Storage.Api.Endpoints;
using Storage.Api.Errors;
using Storage.Api.Proxy;
using Storage.Api.WebConsole;
using Storage.Connection;

namespace Storage.Api;

/// <summary>Builds the API: configuration, the store, authentication, limits and endpoints.</summary>
internal static partial class ApiApp
{
    /// <summary>Where the API listens unless <c>Urls</c> (or Kestrel endpoints) say otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Builds the application from the command line and the usual configuration (appsettings.json, environment, command
    /// line), finding the database the way the <c>storage</c> command does.
    /// </summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="configure">Changes the builder before anything is read from it (tests add configuration here).</param>
    /// <param name="cancellationToken">Cancels finding the database.</param>
    /// <exception cref="ApiConfigurationException">A setting is wrong, or no key is configured while listening beyond loopback.</exception>
    /// <exception cref="StorageConnectionException">No database could be found or reached.</exception>
    public static async Task<WebApplication> BuildAsync(
        string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var configuration = builder.Configuration;

        var urls = ListeningUrls(configuration);
        if (urls.Count == 0)
        {
            builder.WebHost.UseUrls(DefaultUrl);
            urls = [DefaultUrl];
        }

        var section = configuration.GetSection(ApiOptions.SectionName);
        var options = section.Get<ApiOptions>() ?? new ApiOptions();
        if (options.MaxRequestBodyBytes < 1)
        {
            throw new ApiConfigurationException($"{ApiOptions.SectionName}:MaxRequestBodyBytes must be positive.");
        }

        if (options.Keys.Count == 0 && urls.FirstOrDefault(url => !IsLoopback(url)) is { } open)
        {
            throw new ApiConfigurationException(
                $"No API key is configured ({ApiOptions.SectionName}:Keys) and the API would listen on {open}, beyond this machine. "
                + "Configure keys, or listen on loopback only.");
        }

        builder.Services.Configure<ApiOptions>(section);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);

        using var resolverLog = new StringWriter();
        var connectionString = await ConnectionResolver.ResolveAsync(configuration, resolverLog, cancellationToken).ConfigureAwait(false);
        // The store's own options (the Storage section) still apply; the connection is the one resolved above.
        builder.Services.AddChatCompletionStore(store => store.ConnectionString = connectionString);
        builder.Services.AddHealthChecks().AddChatCompletionStore();
        builder.Services.AddSingleton(services => CreateKeyRing(options, services.GetRequiredService<ChatCompletionStore>()));
        builder.Services.AddSingleton<ChatCompletionProxy>();
        // Streams last as long as the model writes; the caller's hang-up cancels the upstream call instead.
        builder.Services.AddWebConsole();
        builder.Services.AddHttpClient(ChatCompletionProxy.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Storage: stored chat completions";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A key from Api:Keys, sent as 'Authorization: Bearer KEY'.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
            return Task.CompletedTask;
        }));

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Storage.Api");
        foreach (var line in resolverLog.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            LogResolver(logger, line);
        }

        // Built now, so that a wrong key entry stops the start rather than the first request.
        if (app.Services.GetRequiredService<ApiKeyRing>().IsAnonymous)
        {
            LogAnonymous(logger, string.Join(", ", urls));
        }

        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
                // Routing's own refusals (no such route, wrong method or content type) come without a body; give them OpenAI's.
                if (context.Response is { StatusCode: >= 400, HasStarted: false, ContentLength: null, ContentType: null })
                {
                    await ApiErrors.WriteAsync(context.Response, context.Response.StatusCode,
                        $"{context.Request.Method} {context.Request.Path} is not supported here ({ReasonPhrases.GetReasonPhrase(context.Response.StatusCode)}).");
                }
            }
            catch (Exception e)
            {
                if (!await ApiErrors.TryHandleAsync(context, e, logger))
                {
                    throw;
                }
            }
        });
        app.UseMiddleware<ApiKeyAuthentication>();
        app.MapWebConsole();
        app.MapOpenApi();
        app.MapHealthChecks("/health");
        StoredCompletionEndpoints.Map(app);
        ChatCompletionProxy.Map(app);
        ImportEndpoint.Map(app);
        OrganizationUsageEndpoints.Map(app);
        return app;
    }

    private static ApiKeyRing CreateKeyRing(ApiOptions options, ChatCompletionStore store)
    {
        try
        {
            return ApiKeyRing.Create(options.Keys, store);
        }
        catch (InvalidOperationException e)
        {
            throw new ApiConfigurationException(e.Message, e);
        }
    }

    /// <summary>The addresses configured through <c>Urls</c> (also <c>ASPNETCORE_URLS</c>, <c>--urls</c>) and <c>Kestrel:Endpoints</c>.</summary>
    private static List<string> ListeningUrls(ConfigurationManager configuration)
    {
        var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(endpoint => endpoint["Url"])
            .OfType<string>());
        return urls;
    }

    /// <summary>Whether a Kestrel address (which may use <c>*</c> or <c>+</c> as its host, unlike a URI) is on loopback only.</summary>
    internal static bool IsLoopback(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal);
        var host = start < 0 ? url : url[(start + 3)..];
        host = host.Split('/')[0];
        if (host.StartsWith('['))
        {
            host = host[1..host.IndexOf(']', StringComparison.Ordinal)];
        }
        else if (host.LastIndexOf(':') is var colon and >= 0)
        {
            host = host[..colon];
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogResolver(ILogger logger, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key is configured (Api:Keys): anyone who can reach {Urls} can read and write every stored completion. Allowed because these are loopback addresses only.")]
    private static partial void LogAnonymous(ILogger logger, string urls);
}
