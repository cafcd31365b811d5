using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Storage.Connection;

namespace Storage.Cli;

/// <summary>What every command shares: the console, the global --connection and --tenant options, and how failures are reported.</summary>
internal sealed class CliContext(CliConsole console)
{
    // Stores a command opened for a tenant's view, which does not own the store under it: disposed when the command ends.
    private readonly List<ChatCompletionStore> _opened = [];

    public CliConsole Console { get; } = console;

    public Option<string?> Tenant { get; } = new("--tenant")
    {
        Description = "Work on this tenant's completions only (what ChatCompletionStore.ForTenant sees). Default: the unscoped store.",
        HelpName = "TENANT",
        Recursive = true,
    };

    public Option<string?> Connection { get; } = new("--connection")
    {
        Description = "The PostgreSQL connection string. Default: ConnectionStrings__Storage, else the docker-compose server if it "
            + "answers, else a development cluster the tool starts from the installed PostgreSQL and leaves running.",
        HelpName = "CONNECTION_STRING",
        Recursive = true,
    };

    /// <summary>
    /// The connection string to use: --connection, else what <see cref="ConnectionResolver"/> finds in the environment
    /// (ConnectionStrings__Storage) or an appsettings.json beside the tool.
    /// </summary>
    public async Task<string> ResolveConnectionAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        if (parsed.GetValue(Connection) is { Length: > 0 } given)
        {
            return await ConnectionResolver.CheckAsync(given, "--connection", cancellationToken);
        }

        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        return await ConnectionResolver.ResolveAsync(configuration, Console.Error, cancellationToken);
    }

    public async Task<ChatCompletionStore> OpenStoreAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        var store = new ChatCompletionStore(await ResolveConnectionAsync(parsed, cancellationToken));
        if (parsed.GetValue(Tenant) is not { } tenant)
        {
            return store;
        }

        _opened.Add(store);
        return store.ForTenant(tenant);
    }

    /// <summary>Sets a command's action, reporting any failure as one line on standard error, never a stack trace.</summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parsed, cancellationToken) =>
        {
            try
            {
                return await action(parsed, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("storage: cancelled.");
                return ExitCodes.Cancelled;
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync($"storage: {ErrorMessages.Describe(e)}");
                return ExitCodes.Failure;
            }
            finally
            {
                foreach (var store in _opened)
                {
                    await store.DisposeAsync();
                }
            }
        });
}
