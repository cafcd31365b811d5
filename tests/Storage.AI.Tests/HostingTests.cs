using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Storage.AI.Tests;

public sealed class HostingTests(MigratedDatabase database, PostgresFixture postgres) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_host_shuts_down_cleanly_with_completions_in_the_buffer_and_they_are_stored()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = database.ConnectionString,
            // Nothing is flushed before shutdown: the batch neither fills nor times out.
            ["Storage:Writer:BatchSize"] = "10000",
            ["Storage:Writer:FlushInterval"] = "01:00:00",
        });
        builder.Services.AddChatCompletionStore();
        using var host = builder.Build();
        await host.StartAsync(Token);
        var writer = host.Services.GetRequiredService<ChatCompletionWriter>();
        var ids = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var completion = Completion($"buffered {i}");
            ids.Add(completion.Id);
            Assert.True(await writer.EnqueueAsync(completion, Token));
        }

        var beforeStop = await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)ids.ToArray());
        await host.StopAsync(Token);

        Assert.Equal((0L, 200L), (beforeStop, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE id = ANY($1)", (object)ids.ToArray())));
    }

    [Fact]
    public void Options_bind_from_the_storage_section_and_the_delegate_has_the_last_word()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = "Host=fallback",
            ["Storage:Store:ValidateMetadata"] = "false",
            ["Storage:Store:MaxContentLength"] = "1000",
            ["Storage:Store:MaxRetryCount"] = "2",
            ["Storage:Store:MaxRetryDelay"] = "00:00:05",
            ["Storage:Writer:BatchSize"] = "7",
            ["Storage:Writer:FullMode"] = "Drop",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        services.AddChatCompletionStore(options => options.Writer.Capacity = 99);
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;

        Assert.Equal(
            ("Host=fallback", false, 1000, 2, TimeSpan.FromSeconds(5), 7, ChatCompletionWriterFullMode.Drop, 99),
            (options.ConnectionString, options.Store.ValidateMetadata, options.Store.MaxContentLength, options.Store.MaxRetryCount, options.Store.MaxRetryDelay,
             options.Writer.BatchSize, options.Writer.FullMode, options.Writer.Capacity));
    }

    [Fact]
    public void The_read_connection_string_and_read_your_writes_bind_from_configuration()
    {
        var fromSection = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = "Host=primary",
            ["ConnectionStrings:StorageRead"] = "Host=fallback-standby",
            ["Storage:ReadConnectionString"] = "Host=standby1,standby2;Target Session Attributes=prefer-standby",
            ["Storage:Store:ReadYourWrites"] = "true",
            ["Storage:Store:ReadYourWritesTimeout"] = "00:00:00.250",
        }).Build();
        var fromConnectionStrings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = "Host=primary",
            ["ConnectionStrings:StorageRead"] = "Host=standby",
        }).Build();

        var section = Options(fromSection);
        var connectionStrings = Options(fromConnectionStrings);

        Assert.Equal(
            ("Host=primary", "Host=standby1,standby2;Target Session Attributes=prefer-standby", true, TimeSpan.FromMilliseconds(250)),
            (section.ConnectionString, section.ReadConnectionString, section.Store.ReadYourWrites, section.Store.ReadYourWritesTimeout));
        Assert.Equal(
            ("Host=primary", "Host=standby", false, TimeSpan.FromSeconds(1)),
            (connectionStrings.ConnectionString, connectionStrings.ReadConnectionString, connectionStrings.Store.ReadYourWrites,
             connectionStrings.Store.ReadYourWritesTimeout));

        static ChatCompletionStoreServiceOptions Options(IConfiguration configuration)
        {
            using var provider = new ServiceCollection().AddSingleton(configuration).AddChatCompletionStore().BuildServiceProvider();
            return provider.GetRequiredService<IOptions<ChatCompletionStoreServiceOptions>>().Value;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_registered_store_reads_from_the_configured_read_source_and_falls_back_to_the_primary(bool sharedDataSource)
    {
        var stopped = new List<(string? Source, string? Fallback)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StorageTelemetry.ActivitySourceName,
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == "storage.get" && activity.GetTagItem("storage.read.source") is string source)
                {
                    lock (stopped)
                    {
                        stopped.Add((source, activity.GetTagItem("storage.read.fallback") as string));
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Storage"] = sharedDataSource ? null : database.ConnectionString,
            // Nothing listens there: the standby is down, so reads go to the primary.
            ["ConnectionStrings:StorageRead"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2",
            ["Storage:Store:ReadYourWrites"] = "true",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        if (sharedDataSource)
        {
            services.AddSingleton(dataSource);
        }

        services.AddChatCompletionStore();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ChatCompletionStore>();
        var completion = Completion("read back through the registered store");

        await store.SaveAsync(completion, Token);
        var read = await store.GetAsync(completion.Id, Token);

        Assert.Equal(completion.Id, read?.Id);
        lock (stopped)
        {
            Assert.Contains(("primary", "unavailable"), stopped);
        }
    }

    [Fact]
    public async Task The_store_uses_the_data_source_registered_in_the_container()
    {
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var services = new ServiceCollection().AddSingleton(dataSource);
        services.AddChatCompletionStore();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ChatCompletionStore>();
        var completion = Completion("through the shared data source");

        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(completion, Token));
        Assert.Same(store, provider.GetRequiredService<ChatCompletionStore>());
    }

    [Fact]
    public void A_store_without_a_database_says_how_to_give_it_one()
    {
        using var provider = new ServiceCollection().AddChatCompletionStore().BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ChatCompletionStore>());

        Assert.Contains("Storage:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_host_makes_the_partitions_ahead_compacts_the_usage_rollups_and_an_unmigrated_database_does_not_stop_it()
    {
        var emptyName = $"storage_empty_{Guid.NewGuid():N}";
        var empty = await postgres.Server.CreateDatabaseAsync(emptyName, Token);
        try
        {
            // A completion of two days ago, counted in its writer's stripe of the rollups, which the host folds.
            await using (var store = new ChatCompletionStore(database.ConnectionString))
            {
                var old = TestCompletions.Completion("compact-" + TestCompletions.Unique());
                old.Created = DateTimeOffset.UtcNow.AddDays(-2);
                await store.SaveAsync(old, Token);
            }

            var totalsBefore = await RollupAsync(database.ConnectionString, "SELECT sum(completions) || '/' || sum(total_tokens) FROM chat_completion_usage_daily");
            Assert.NotEqual("0", await RollupAsync(database.ConnectionString, "SELECT count(*) FROM chat_completion_usage_daily WHERE stripe <> 0 AND day < current_date"));

            // Six months ahead, beyond the three the migration made.
            using var host = await StartAsync(database.ConnectionString);
            Assert.Equal("0", await RollupAsync(database.ConnectionString, "SELECT count(*) FROM chat_completion_usage_daily WHERE stripe <> 0 AND day < current_date"));
            Assert.Equal("0", await RollupAsync(database.ConnectionString, "SELECT count(*) FROM chat_completion_usage_hourly WHERE stripe <> 0 AND hour < now() - interval '1 hour'"));
            Assert.Equal(totalsBefore, await RollupAsync(database.ConnectionString, "SELECT sum(completions) || '/' || sum(total_tokens) FROM chat_completion_usage_daily"));
            var ahead = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(6);
            var partitions = await host.Services.GetRequiredService<ChatCompletionStore>().ListPartitionsAsync(Token);
            Assert.Contains(partitions, p => p.Table == "chat_completions" && p.From == ahead);
            await host.StopAsync(Token);

            using var unmigrated = await StartAsync(empty);
            // The failure was logged, and the host runs on.
            Assert.False(unmigrated.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
            await unmigrated.StopAsync(Token);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(emptyName, CancellationToken.None);
        }

        static async Task<string> RollupAsync(string connectionString, string sql)
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var command = dataSource.CreateCommand(sql);
            return Convert.ToString(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture)!;
        }

        static async Task<IHost> StartAsync(string connectionString)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Storage"] = connectionString,
                ["Storage:Partitions:MonthsAhead"] = "6",
            });
            builder.Services.AddChatCompletionStore();
            var host = builder.Build();
            await host.StartAsync(Token);
            var maintenance = host.Services.GetServices<IHostedService>().OfType<Storage.Internal.PartitionMaintenanceService>().Single();
            await maintenance.FirstPass.WaitAsync(TimeSpan.FromSeconds(60), Token);
            return host;
        }
    }

    [Fact]
    public async Task The_health_check_is_healthy_on_a_migrated_database_and_not_otherwise()
    {
        var emptyName = $"storage_empty_{Guid.NewGuid():N}";
        var empty = await postgres.Server.CreateDatabaseAsync(emptyName, Token);
        try
        {
            Assert.Equal(
                [HealthStatus.Healthy, HealthStatus.Unhealthy, HealthStatus.Degraded],
                [await CheckAsync(database.ConnectionString), await CheckAsync(empty), await CheckAsync("Host=127.0.0.1;Port=1;Timeout=2", HealthStatus.Degraded)]);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.Server.DropDatabaseAsync(emptyName, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Store_operations_and_writer_flushes_are_traced_on_the_storage_activity_source()
    {
        var spans = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StorageTelemetry.ActivitySourceName,
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(activity.OperationName);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var store = database.CreateStore();

        var completion = Completion("traced");
        await store.SaveAsync(completion, Token);
        await store.GetAsync(completion.Id, Token);
        await using (var writer = Recording.Writer(store))
        {
            await writer.SaveAsync(Completion("traced through the writer"), Token);
        }

        lock (spans)
        {
            Assert.Contains("storage.save", spans);
            Assert.Contains("storage.get", spans);
            Assert.Contains("storage.writer.flush", spans);
        }
    }

    [Fact]
    public async Task The_health_check_is_degraded_when_the_read_source_does_not_answer_and_healthy_when_it_does()
    {
        Assert.Equal(
            [HealthStatus.Healthy, HealthStatus.Degraded],
            [await CheckAsync(database.ConnectionString, read: database.ConnectionString), await CheckAsync(database.ConnectionString, read: "Host=127.0.0.1;Port=1;Timeout=2")]);
    }

    private static async Task<HealthStatus> CheckAsync(string connectionString, HealthStatus? failureStatus = null, string? read = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddChatCompletionStore(options =>
        {
            options.ConnectionString = connectionString;
            options.ReadConnectionString = read;
        });
        services.AddHealthChecks().AddChatCompletionStore(failureStatus: failureStatus);
        await using var provider = services.BuildServiceProvider();
        return (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token)).Status;
    }

    private static ChatCompletion Completion(string content) => new()
    {
        Id = $"chatcmpl-{Guid.NewGuid():N}",
        ObjectType = "chat.completion",
        Created = DateTimeOffset.UtcNow,
        Model = "gpt-4o",
        Choices = [new ChatChoice { Index = 0, Message = new ChatCompletionMessage { Role = "assistant", Content = content }, FinishReason = "stop" }],
    };
}
