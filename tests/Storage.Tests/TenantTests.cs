using Npgsql;

namespace Storage.Tests;

/// <summary>
/// Tenant isolation: what one tenant's store saves, no other tenant's store (nor the unscoped store) can read, list,
/// update, delete, export or count; and PostgreSQL's row-level security holds the application role to the same,
/// through pooled connections.
/// </summary>
public sealed class TenantTests(MigratedDatabase database, PostgresFixture postgres) : IClassFixture<MigratedDatabase>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_operation_of_one_tenant_reaches_another_tenants_completions()
    {
        await using var store = database.CreateStore();
        var acme = store.ForTenant("acme");
        var globex = store.ForTenant("globex");
        // A model of its own, so the other tests' completions in this database never count.
        var model = $"model-{Guid.NewGuid():N}";
        var only = new ChatCompletionFilter { Model = model };
        var completion = TestCompletions.Completion(model: model);
        var other = TestCompletions.Completion(model: model);
        Assert.Equal(SaveOutcome.Stored, await acme.SaveAsync(completion, Token));
        Assert.Equal(SaveOutcome.Stored, (await acme.SaveManyAsync([other], Token).SingleAsync(Token)).Outcome);

        foreach (var outsider in new[] { globex, store })
        {
            Assert.Null(await outsider.GetAsync(completion.Id, Token));
            Assert.Null(await outsider.GetWithVersionAsync(completion.Id, Token));
            Assert.Empty(await outsider.FindAsync(other.Id, Token));
            Assert.Empty((await outsider.ListAsync(only, cancellationToken: Token)).Items);
            Assert.Empty(await outsider.ExportAsync(only, Token).ToListAsync(Token));
            Assert.Equal(0, (await outsider.GetUsageAsync(only, cancellationToken: Token)).Single().Completions);
            await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => outsider.UpdateMetadataAsync(completion.Id, null, cancellationToken: Token));
            await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => outsider.ListMessagesAsync(completion.Id, cancellationToken: Token));
            await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => outsider.ListAsync(after: completion.Id, cancellationToken: Token));
            Assert.False(await outsider.DeleteAsync(completion.Id, Token));
            Assert.Equal(0, await outsider.DeleteCreatedBeforeAsync(DateTimeOffset.MaxValue, only, Token));
        }

        Assert.Equal(2, (await acme.ListAsync(only, cancellationToken: Token)).Items.Count);
        Assert.Equal(2, (await acme.GetUsageAsync(only, cancellationToken: Token)).Single().Completions);
        Assert.Equal(2, await database.ScalarAsync("SELECT count(*) FROM chat_completions WHERE tenant = 'acme' AND model = $1", model));
        Assert.Equal("acme", acme.Tenant);
        Assert.Null(store.Tenant);
    }

    [Fact]
    public async Task The_same_completion_is_stored_once_per_tenant_and_a_replay_is_recognised_within_its_tenant()
    {
        await using var store = database.CreateStore();
        var completion = TestCompletions.Completion();
        var json = ChatCompletionJson.Serialize(completion);

        Assert.Equal(SaveOutcome.Stored, await store.ForTenant("initech").SaveAsync(ChatCompletionJson.Parse(json), Token));
        Assert.Equal(SaveOutcome.Stored, await store.ForTenant("umbrella").SaveAsync(ChatCompletionJson.Parse(json), Token));
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(ChatCompletionJson.Parse(json), Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await store.ForTenant("initech").SaveAsync(ChatCompletionJson.Parse(json), Token));
        Assert.Equal(SaveOutcome.AlreadyStored, (await store.ForTenant("umbrella").SaveManyAsync([ChatCompletionJson.Parse(json)], Token).SingleAsync(Token)).Outcome);

        Assert.Equal(3, await database.ScalarAsync("SELECT count(DISTINCT completion_key) FROM chat_completions WHERE id = $1", completion.Id));
        Assert.Equal(3, await database.ScalarAsync("SELECT count(*) FROM chat_completion_choices ch JOIN chat_completions c USING (completion_key, created) WHERE c.id = $1 AND ch.tenant = c.tenant", completion.Id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\0b")]
    [InlineData("lone surrogate")]
    public async Task An_unstorable_tenant_is_refused(string tenant)
    {
        // xUnit would turn a lone surrogate in the attribute into U+FFFD, so it is built here.
        tenant = tenant == "lone surrogate" ? "a\uD800" : tenant;
        await using var store = database.CreateStore();
        Assert.ThrowsAny<ArgumentException>(() => store.ForTenant(tenant));
        Assert.ThrowsAny<ArgumentException>(() => store.ForTenant(new string('t', 257)));
    }

    [Fact]
    public async Task Row_level_security_holds_the_application_role_to_its_tenant_through_pooled_connections()
    {
        await using var roles = await RoleDatabase.CreateAsync(postgres, Token);
        await roles.EnableRowLevelSecurityAsync(Token);
        // One pooled connection, so every store and raw command below reuses the same server session.
        await using var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(roles.AppConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        await using var store = new ChatCompletionStore(app);
        var acme = TestCompletions.Completion();
        var unscoped = TestCompletions.Completion();
        Assert.Equal(SaveOutcome.Stored, await store.ForTenant("acme").SaveAsync(acme, Token));
        Assert.Equal(SaveOutcome.Stored, (await store.ForTenant("acme").SaveManyAsync([TestCompletions.Completion()], Token).SingleAsync(Token)).Outcome);
        Assert.Equal(SaveOutcome.Stored, await store.SaveAsync(unscoped, Token));

        // Raw SQL on the connection the tenant store just used: the session no longer names the tenant, so only the
        // unscoped row is visible, whatever the query asks for.
        Assert.Equal(1, await ScalarAsync(app, "SELECT count(*) FROM chat_completions"));
        Assert.Equal(0, await ScalarAsync(app, "SELECT count(*) FROM chat_completions WHERE tenant = 'acme'"));
        Assert.Equal(1, await ScalarAsync(app, "SELECT count(*) FROM chat_completion_choices"));
        Assert.Equal(1, await ScalarAsync(app, "SELECT coalesce(sum(completions), 0) FROM chat_completion_usage_daily"));

        // A session that names a tenant sees only that tenant's rows, and cannot write, change or delete another's.
        await using (var connection = await app.OpenConnectionAsync(Token))
        {
            await using var transaction = await connection.BeginTransactionAsync(Token);
            await ExecuteAsync(connection, "SELECT set_config('storage.tenant', 'globex', true)");
            Assert.Equal(0, await ScalarAsync(connection, "SELECT count(*) FROM chat_completions"));
            Assert.Equal(0, await ScalarAsync(connection, "WITH d AS (DELETE FROM chat_completions RETURNING 1) SELECT count(*) FROM d"));
            Assert.Equal(0, await ScalarAsync(connection, "WITH u AS (UPDATE chat_completions SET model = 'x' RETURNING 1) SELECT count(*) FROM u"));
            var refused = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection,
                "INSERT INTO chat_completions (completion_key, created, tenant, id, object, model, content_hash) VALUES (1, now(), 'acme', 'x', 'chat.completion', 'm', '\\x00')"));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        await using var admin = NpgsqlDataSource.Create(roles.AdminConnectionString);
        Assert.Equal(3, await ScalarAsync(admin, "SELECT count(*) FROM chat_completions"));
        Assert.Equal(2, await ScalarAsync(admin, "SELECT count(*) FROM chat_completions WHERE tenant = 'acme'"));
        Assert.Equal("acme-model", (await store.ForTenant("acme").UpdateMetadataAsync(acme.Id, new Dictionary<string, string> { ["k"] = "acme-model" }, cancellationToken: Token)).Completion.Metadata!["k"]);
        Assert.True(await store.ForTenant("acme").DeleteAsync(acme.Id, Token));
        Assert.Equal(1, await ScalarAsync(admin, "SELECT count(*) FROM chat_completions WHERE tenant = 'acme'"));
    }

    [Fact]
    public async Task With_signed_claims_the_application_role_works_for_its_tenants_and_an_unsigned_store_for_none()
    {
        await using var roles = await RoleDatabase.CreateAsync(postgres, Token);
        await roles.EnableRowLevelSecurityAsync(Token);
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        await roles.InstallTenantKeyAsync(key, Token);
        await using var app = NpgsqlDataSource.Create(roles.AppConnectionString);
        await using var signed = new ChatCompletionStore(app, new ChatCompletionStoreOptions { TenantSigningKey = key });
        await using var unsigned = new ChatCompletionStore(app);
        var acme = signed.ForTenant("acme");
        var saved = TestCompletions.Completion();

        Assert.Equal(SaveOutcome.Stored, await acme.SaveAsync(saved, Token));
        Assert.Equal(SaveOutcome.Stored, (await acme.SaveManyAsync([TestCompletions.Completion()], Token).SingleAsync(Token)).Outcome);
        Assert.Equal(SaveOutcome.Stored, await signed.SaveAsync(TestCompletions.Completion(), Token));
        Assert.Equal(2, (await acme.ListAsync(cancellationToken: Token)).Items.Count);
        Assert.Equal(2, (await acme.GetUsageAsync(cancellationToken: Token)).Single().Completions);
        Assert.Equal("yes", (await acme.UpdateMetadataAsync(saved.Id, new Dictionary<string, string> { ["k"] = "yes" }, cancellationToken: Token)).Completion.Metadata!["k"]);
        Assert.Single((await signed.ListAsync(cancellationToken: Token)).Items);

        // The same role without the key: its claims count for nothing, so it reads nothing and writes nothing.
        Assert.Empty((await unsigned.ForTenant("acme").ListAsync(cancellationToken: Token)).Items);
        Assert.Empty((await unsigned.ListAsync(cancellationToken: Token)).Items);
        Assert.Null(await unsigned.ForTenant("acme").GetAsync(saved.Id, Token));
        await Assert.ThrowsAsync<ChatCompletionStoreException>(() => unsigned.ForTenant("acme").SaveAsync(TestCompletions.Completion(), Token));
        Assert.False(await unsigned.ForTenant("acme").DeleteAsync(saved.Id, Token));
        Assert.True(await acme.DeleteAsync(saved.Id, Token));
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Token);
    }
}
