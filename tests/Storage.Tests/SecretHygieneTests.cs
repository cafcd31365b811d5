using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Logging;
using Npgsql;
using Storage.Internal;

namespace Storage.Tests;

/// <summary>
/// Issue 5: by default, no password, parameter value or completion content reaches an exception's text or a log:
/// connection failures, a wrong password, a key collision and a unique violation are provoked, and Npgsql's and EF's
/// logging is captured at the most verbose level while the store works.
/// </summary>
public sealed class SecretHygieneTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly string Marker = $"hygiene{Guid.NewGuid():N}";
    private static readonly string Password = $"pw-{Marker}";
    private static readonly string Content = $"content-{Marker}";
    private static readonly string MetadataValue = $"meta-{Marker}";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_connection_failure_shows_no_password_anywhere_in_the_exception()
    {
        var connectionString = $"Host=127.0.0.1;Port=1;Username=storage;Password={Password};Timeout=2;Database=storage";
        await using var store = new ChatCompletionStore(connectionString);

        var error = await Assert.ThrowsAsync<ChatCompletionStoreException>(async () => await store.SaveManyAsync([Completion()], Token).ToListAsync(Token));

        Assert.True(error.IsTransient);
        AssertClean(error);
    }

    [Fact]
    public async Task A_wrong_password_shows_no_password_anywhere_in_the_exception()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = Password }.ConnectionString;
        await using var store = new ChatCompletionStore(connectionString);

        var single = await Assert.ThrowsAsync<ChatCompletionStoreException>(() => store.SaveAsync(Completion(), Token));
        var bulk = await Assert.ThrowsAsync<ChatCompletionStoreException>(async () => await store.SaveManyAsync([Completion()], Token).ToListAsync(Token));
        var read = await Assert.ThrowsAsync<ChatCompletionStoreException>(() => store.GetAsync("any", Token));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, Assert.IsType<PostgresException>(Inner<PostgresException>(single)).SqlState);
        AssertClean(single);
        AssertClean(bulk);
        AssertClean(read);
    }

    [Fact]
    public async Task A_key_collision_reports_no_content_metadata_or_key_and_nothing_is_logged_with_values()
    {
        using var logs = new CapturedLogs();
        var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
        builder.UseLoggerFactory(logs);
        await using var dataSource = builder.Build();
        await using var store = new ChatCompletionStore(dataSource);
        var victim = Completion();
        var occupant = Completion();
        occupant.Choices = [];
        await store.SaveAsync(occupant, Token);
        var key = ContentHash.ToKey(ContentHash.Compute(victim, ""));
        // Make a different completion hold the victim's 64-bit key in the same second: the one real unique violation
        // the store's write paths can meet.
        await using (var move = dataSource.CreateCommand("UPDATE chat_completions SET completion_key = $1, created = $2 WHERE id = $3"))
        {
            move.Parameters.Add(new NpgsqlParameter { Value = key });
            move.Parameters.Add(new NpgsqlParameter { Value = victim.Created });
            move.Parameters.Add(new NpgsqlParameter { Value = occupant.Id });
            Assert.Equal(1, await move.ExecuteNonQueryAsync(Token));
        }

        var single = await Assert.ThrowsAsync<ChatCompletionStoreException>(() => store.SaveAsync(victim, Token));
        var bulk = Assert.Single(await store.SaveManyAsync([victim], Token).ToListAsync(Token)).Error;

        Assert.Contains("collides", single.Message, StringComparison.Ordinal);
        Assert.NotNull(bulk);
        foreach (var error in new[] { single, bulk })
        {
            AssertClean(error, key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.NotEmpty(logs.Lines);
        AssertClean(logs.Text, key.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_unique_violation_from_PostgreSQL_reaches_the_caller_without_the_duplicate_value()
    {
        var withDetail = new NpgsqlConnectionStringBuilder(database.ConnectionString) { IncludeErrorDetail = true }.ConnectionString;

        var redacted = await ProvokeUniqueViolationAsync(database.ConnectionString);
        var detailed = await ProvokeUniqueViolationAsync(withDetail);
        var translated = StoreErrors.Translate(redacted, "save the completion");
        var translatedDetailed = StoreErrors.Translate(detailed, "save the completion");

        // The server does send the value; only a user who asks for error detail gets it, and then only in the inner exception.
        Assert.Contains(Content, detailed.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Content, translatedDetailed.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresErrorCodes.UniqueViolation, redacted.SqlState);
        AssertClean(redacted);
        AssertClean(translated);
    }

    [Fact]
    public async Task Logs_at_trace_level_and_EF_events_hold_no_values_while_the_store_reads_and_writes()
    {
        using var logs = new CapturedLogs();
        var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
        builder.UseLoggerFactory(logs);
        await using var dataSource = builder.Build();
        await using var root = new ChatCompletionStore(dataSource);
        // A tenant of its own: the other tests of the class store completions with the same metadata.
        var store = root.ForTenant($"logs-{Guid.NewGuid():N}");
        var single = Completion();
        var bulk = Completion();
        var filter = new ChatCompletionFilter { Metadata = new Dictionary<string, string> { ["secret"] = MetadataValue } };

        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(single, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.SaveAsync(single, Token));
        Assert.Equal(SaveOutcome.Stored, Assert.Single(await store.SaveManyAsync([bulk], Token).ToListAsync(Token)).Outcome);
        Assert.NotNull(await store.GetAsync(single.Id, Token));
        Assert.Equal(2, (await store.ListAsync(filter, cancellationToken: Token)).Items.Count);
        await store.UpdateMetadataAsync(bulk.Id, new Dictionary<string, string> { ["secret"] = MetadataValue + "2" }, cancellationToken: Token);
        Assert.Equal(2, (await store.GetUsageAsync(filter with { Metadata = null }, new ChatCompletionUsageGrouping { ByMetadataKey = "secret" }, Token)).Count);
        Assert.Equal(SaveOutcome.Stored, await root.ForTenant(MetadataValue).SaveAsync(Completion(), Token));

        Assert.Contains(logs.Lines, line => line.Contains("chat_completions", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, line => line.Contains("Microsoft.EntityFrameworkCore", StringComparison.Ordinal));
        AssertClean(logs.Text);
    }

    [Fact]
    public void The_store_leaves_sensitive_data_logging_and_detailed_errors_off()
    {
        var options = StorageModel.Configure(new DbContextOptionsBuilder<ChatCompletionDbContext>(), database.DataSource).Options;
        var core = options.FindExtension<CoreOptionsExtension>();

        Assert.NotNull(core);
        Assert.False(core.IsSensitiveDataLoggingEnabled);
        Assert.False(core.DetailedErrorsEnabled);
    }

    private static ChatCompletion Completion()
    {
        var completion = TestCompletions.Completion(content: Content);
        completion.Metadata!["secret"] = MetadataValue;
        return completion;
    }

    private static async Task<PostgresException> ProvokeUniqueViolationAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Token);
        await using var create = new NpgsqlCommand("CREATE TEMP TABLE hygiene (value text PRIMARY KEY)", connection);
        await create.ExecuteNonQueryAsync(Token);
        await using var insert = new NpgsqlCommand("INSERT INTO hygiene VALUES ($1), ($1)", connection) { Parameters = { new NpgsqlParameter { Value = Content } } };
        return await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync(Token));
    }

    private static T? Inner<T>(Exception error)
        where T : Exception
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static void AssertClean(Exception error, params string[] more)
    {
        var text = new List<string> { error.ToString() };
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            text.Add(e.Message);
            text.AddRange(e.Data.Cast<DictionaryEntry>().Select(entry => $"{entry.Key}={entry.Value}"));
            if (e is PostgresException postgres)
            {
                text.Add($"{postgres.Detail} {postgres.Where} {postgres.Hint} {postgres.InternalQuery}");
            }
        }

        AssertClean(string.Join("\n", text), more);
    }

    private static void AssertClean(string text, params string[] more)
    {
        foreach (var secret in new[] { Password, Content, MetadataValue }.Concat(more))
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    /// <summary>Npgsql's logs through a logger factory at Trace, and every EF Core diagnostic event, as text.</summary>
    private sealed class CapturedLogs : ILoggerFactory, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly List<IDisposable> _subscriptions = [];

        public CapturedLogs() => _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));

        public IReadOnlyCollection<string> Lines => _lines;

        public string Text => string.Join("\n", _lines);

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == DbLoggerCategory.Name)
            {
                lock (_subscriptions)
                {
                    _subscriptions.Add(value.Subscribe(this));
                }
            }
        }

        public void OnNext(KeyValuePair<string, object?> value) => _lines.Enqueue($"{DbLoggerCategory.Name} {value.Key}: {value.Value}");

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void Dispose()
        {
            lock (_subscriptions)
            {
                _subscriptions.ForEach(s => s.Dispose());
            }
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    lines.Enqueue(string.Join(", ", values.Select(v => $"{v.Key}={v.Value}")));
                }
            }
        }
    }
}
