using System.Reflection;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc.ApplicationParts;

namespace Storage.Api.WebConsole;

/// <summary>
/// The web console under <c>/console</c>: Razor Pages rendered on the server, its stylesheet, and its sign-in cookie.
/// The API's own paths are untouched; <see cref="ConsoleAccess"/> guards every console request.
/// </summary>
internal static class WebConsole
{
    /// <summary>Where the console lives; every page route and the cookies' path start with it.</summary>
    public const string PathBase = "/console";

    /// <summary>The cookie scheme whose ticket holds the SHA-256 of the key the user signed in with.</summary>
    public const string Scheme = "StorageConsole";

    /// <summary>The claim of that ticket: the key's SHA-256 as hex, so the cookie never carries the key itself.</summary>
    public const string KeyHashClaim = "storage_key_sha256";

    private const string StylesheetResource = "Storage.Api.WebConsole.console.css";

    public static void AddWebConsole(this IServiceCollection services)
    {
        // The pages are compiled into this assembly, which is not the entry assembly when a test host runs the app.
        var assembly = typeof(WebConsole).Assembly;
        services.AddRazorPages(options => options.RootDirectory = "/WebConsole/Pages")
            .ConfigureApplicationPartManager(parts =>
            {
                if (!parts.ApplicationParts.OfType<AssemblyPart>().Any(part => part.Assembly == assembly))
                {
                    // The assembly's types and its compiled pages, as MVC itself would add them.
                    foreach (var part in ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                    {
                        parts.ApplicationParts.Add(part);
                    }
                }
            });

        // The cookie and antiforgery tokens are protected with ASP.NET Core's data protection as configured by default
        // (keys under the user profile, else in memory); see the README's Console for running several instances.
        services.AddAuthentication().AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = "storage_console";
            cookie.Cookie.Path = PathBase;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            cookie.SlidingExpiration = true;
        });
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "storage_console_antiforgery";
            antiforgery.Cookie.Path = PathBase;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // ConsoleAccess sends X-Frame-Options: DENY and frame-ancestors 'none' on every console response.
            antiforgery.SuppressXFrameOptionsHeader = true;
        });
    }

    public static void MapWebConsole(this WebApplication app)
    {
        app.UseMiddleware<ConsoleAccess>();
        app.MapGet(PathBase + "/console.css", Stylesheet).ExcludeFromDescription();
        app.MapRazorPages();
    }

    private static IResult Stylesheet(HttpContext context)
    {
        context.Response.Headers.CacheControl = "public, max-age=3600";
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(StylesheetResource)
            ?? throw new InvalidOperationException($"The console's stylesheet {StylesheetResource} is not embedded.");
        return Results.Stream(stream, "text/css; charset=utf-8");
    }
}
