using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Storage.Api.Authentication;

namespace Storage.Api.WebConsole.Pages;

/// <summary>Signs in with an API key (a cookie holding the key's hash), and out. With no key configured there is nothing to sign in to.</summary>
public sealed class LoginModel : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    private ApiKeyRing Keys => HttpContext.RequestServices.GetRequiredService<ApiKeyRing>();

    public IActionResult OnGet() => Keys.IsAnonymous ? Redirect(WebConsole.PathBase) : Page();

    public async Task<IActionResult> OnPostAsync([FromForm] string? key)
    {
        if (Keys.IsAnonymous)
        {
            return Redirect(WebConsole.PathBase);
        }

        var hash = ApiKeyRing.Hash(key ?? "");
        if (string.IsNullOrEmpty(key) || Keys.FindHash(hash) is null)
        {
            Fail(StatusCodes.Status401Unauthorized, "That key is not one of this API's keys.");
            return Page();
        }

        var identity = new ClaimsIdentity([new Claim(WebConsole.KeyHashClaim, Convert.ToHexStringLower(hash))], WebConsole.Scheme);
        await HttpContext.SignInAsync(WebConsole.Scheme, new ClaimsPrincipal(identity));
        // Only back into the console: a returnUrl elsewhere would make the login page an open redirect.
        return LocalRedirect(ReturnUrl is { } back && Url.IsLocalUrl(back) && back.StartsWith(WebConsole.PathBase, StringComparison.Ordinal)
            ? back
            : WebConsole.PathBase);
    }

    public async Task<IActionResult> OnPostLogoutAsync()
    {
        await HttpContext.SignOutAsync(WebConsole.Scheme);
        return Redirect(ConsoleAccess.LoginPath);
    }
}
