using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Storage.Citus.Tests;

/// <summary>
/// Row-level security on Citus: a least-privilege role sees and changes only its tenant's rows through every path of
/// the library, and its own SQL cannot cross tenants, with no claim, with another tenant's claim, or with a forged one.
/// The database enforces it on the workers, where the rows are.
/// </summary>
public sealed class CitusRowLevelSecurityTests(CitusRoleSchema roles) : IClassFixture<CitusRoleSchema>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string UniqueTenant() => $"t-{Guid.NewGuid():N}";

    private static List<ChatCompletion> Completions(int count, string content) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var completion = TestCompletions.Completion(content: $"{content} {i}");
            completion.Created = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000 + (i * 3_600L));
            return completion;
        }).ToList();

    [Fact]
    public async Task The_least_privilege_role_reads_and_writes_only_its_tenant_through_every_path()
    {
        await using var app = roles.CreateAppStore(roles.Key);
        var (tenantA, tenantB) = (UniqueTenant(), UniqueTenant());
        var (a, b) = (app.ForTenant(tenantA), app.ForTenant(tenantB));

        var single = TestCompletions.Completion(content: "single");
        Assert.Equal(SaveOutcome.Stored, await a.SaveAsync(single, Token));
        Assert.Equal(SaveOutcome.AlreadyStored, await a.SaveAsync(ChatCompletionJson.Parse(ChatCompletionJson.Serialize(single)), Token));
        var bulk = Completions(10, "bulk");
        Assert.All(await a.SaveManyAsync(bulk, Token).ToListAsync(Token), r => Assert.Equal(SaveOutcome.Stored, r.Outcome));
        var replays = await a.SaveManyAsync([.. bulk.Take(3), .. Completions(2, "more")], Token).ToListAsync(Token);
        Assert.Equal([SaveOutcome.AlreadyStored, SaveOutcome.AlreadyStored, SaveOutcome.AlreadyStored, SaveOutcome.Stored, SaveOutcome.Stored], replays.Select(r => r.Outcome));
        await using (var writer = new ChatCompletionWriter(a))
        {
            foreach (var completion in Completions(4, "buffered"))
            {
                Assert.True(await writer.EnqueueAsync(completion, Token));
            }
        }

        var other = TestCompletions.Completion(content: "tenant b");
        Assert.Equal(SaveOutcome.Stored, await b.SaveAsync(other, Token));

        Assert.Equal(17, await a.CountAsync(cancellationToken: Token));
        Assert.Equal(17, (await a.ListAsync(limit: 100, cancellationToken: Token)).Items.Count);
        Assert.Equal(17, await a.ExportAsync(cancellationToken: Token).CountAsync(Token));
        Assert.Equal(17, Assert.Single(await a.GetUsageAsync(cancellationToken: Token)).Completions);
        Assert.Equal(1, await b.CountAsync(cancellationToken: Token));
        Assert.Equal(1, Assert.Single(await b.GetUsageAsync(cancellationToken: Token)).Completions);
        Assert.NotNull(await a.GetAsync(single.Id, Token));
        Assert.Null(await b.GetAsync(single.Id, Token));
        Assert.Null(await a.GetAsync(other.Id, Token));
        Assert.Equal("single", Assert.Single(Assert.Single(await a.FindAsync(single.Id, Token)).Choices).Message.Content!.Text);
        Assert.Empty(await b.FindAsync(single.Id, Token));
        Assert.Empty((await a.ListMessagesAsync(single.Id, cancellationToken: Token)).Items);
        await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => b.ListMessagesAsync(single.Id, cancellationToken: Token));

        var updated = await a.UpdateMetadataAsync(single.Id, new Dictionary<string, string> { ["k"] = "v" }, cancellationToken: Token);
        Assert.Equal("v", updated.Completion.Metadata!["k"]);
        await Assert.ThrowsAsync<ChatCompletionNotFoundException>(() => b.UpdateMetadataAsync(single.Id, null, cancellationToken: Token));
        Assert.False(await b.DeleteAsync(single.Id, Token));
        Assert.True(await a.DeleteAsync(single.Id, Token));

        // What the superuser sees: every row under the tenant that wrote it.
        Assert.Equal(16, await roles.Admin.ScalarAsync<long>("SELECT count(*) FROM chat_completions WHERE tenant = $1", tenantA));
        Assert.Equal(1, await roles.Admin.ScalarAsync<long>("SELECT count(*) FROM chat_completions WHERE tenant = $1", tenantB));
    }

    [Fact]
    public async Task Search_filters_retention_and_reprice_of_the_least_privilege_role_touch_only_its_tenant()
    {
        await using var app = roles.CreateAppStore(roles.Key);
        var (tenantA, tenantB) = (UniqueTenant(), UniqueTenant());
        var (a, b) = (app.ForTenant(tenantA), app.ForTenant(tenantB));
        var old = Completions(6, "needle");
        old[0].Choices[0].FinishReason = "length";
        await a.SaveManyAsync(old, Token).ToListAsync(Token);
        await b.SaveManyAsync(Completions(6, "needle"), Token).ToListAsync(Token);

        var search = new ChatCompletionFilter { Search = "NEEDLE" };
        var finish = new ChatCompletionFilter { Search = "needle", FinishReason = "length" };
        Assert.Equal(6, await a.CountAsync(search, Token));
        Assert.Equal(6, (await a.ListAsync(search, limit: 100, cancellationToken: Token)).Items.Count);
        Assert.Equal(6, Assert.Single(await a.GetUsageAsync(search, cancellationToken: Token)).Completions);
        Assert.Equal([old[0].Id], await a.ExportAsync(finish, Token).Select(c => c.Id).ToListAsync(Token));
        // Every other filter (several read the choices: EXISTS, NOT EXISTS) agrees in count, list, export and usage.
        ChatCompletionFilter[] others =
        [
            new() { HasToolCalls = false }, new() { HasToolCalls = true }, new() { ToolName = "get_weather" }, new() { ServiceTier = "default" },
            new() { MinTotalTokens = 1, MaxTotalTokens = 1_000_000 }, new() { MinLatency = TimeSpan.Zero }, new() { Search = "needle", HasToolCalls = false },
        ];
        foreach (var filter in others)
        {
            var count = await a.CountAsync(filter, Token);
            Assert.Equal(count, (await a.ListAsync(filter, limit: 100, cancellationToken: Token)).Items.Count);
            Assert.Equal(count, await a.ExportAsync(filter, Token).CountAsync(Token));
            Assert.Equal(count, (await a.GetUsageAsync(filter, cancellationToken: Token)).Sum(u => u.Completions));
        }

        Assert.Equal(6, await a.CountAsync(others[0], Token));
        Assert.Equal(6, await a.ExportFineTuningAsync(search, Token).CountAsync(Token));
        Assert.Equal(6, await a.ExportEvalAsync(search, Token).CountAsync(Token));
        Assert.Equal(old[1].Id, (await a.GetWithVersionAsync(old[1].Id, Token))!.Completion.Id);
        Assert.Null(await b.GetWithVersionAsync(old[1].Id, Token));

        // Retention of the first three hours' completions: a's, row by row (they share a partition with b's), never b's.
        var cutoff = old[3].Created;
        Assert.Equal(3, await a.DeleteCreatedBeforeAsync(cutoff, cancellationToken: Token));
        Assert.Equal(3, await a.CountAsync(cancellationToken: Token));
        Assert.Equal(6, await b.CountAsync(cancellationToken: Token));
        Assert.Equal(6, await roles.Admin.ScalarAsync<long>("SELECT count(*) FROM chat_completions WHERE tenant = $1", tenantB));

        // A reprice after new prices (imported by the owner) changes a's costs and not b's.
        var costOfB = await roles.Admin.ScalarAsync<decimal>("SELECT sum(cost) FROM chat_completions WHERE tenant = $1", tenantB);
        var prices = Path.Combine(Path.GetTempPath(), $"citus-prices-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(prices, """{"gpt-4o-mini": {"input_cost_per_token": 0.0000009, "output_cost_per_token": 0.0000036}}""", Token);
        await using (var owner = roles.Admin.CreateStore())
        {
            await owner.ImportPricesAsync(await PriceTable.LoadAsync(prices, Token), new DateTimeOffset(2025, 11, 1, 0, 0, 0, TimeSpan.Zero), Token);
        }

        File.Delete(prices);
        Assert.Equal(3, await a.RepriceAsync(cancellationToken: Token));
        Assert.Equal(costOfB, await roles.Admin.ScalarAsync<decimal>("SELECT sum(cost) FROM chat_completions WHERE tenant = $1", tenantB));
        Assert.True(await roles.Admin.ScalarAsync<decimal>("SELECT sum(cost) FROM chat_completions WHERE tenant = $1", tenantA) > costOfB / 2);
    }

    [Fact]
    public async Task A_store_without_the_signing_key_sees_nothing_and_cannot_write()
    {
        await using var signed = roles.CreateAppStore(roles.Key);
        var tenant = UniqueTenant();
        await signed.ForTenant(tenant).SaveAsync(TestCompletions.Completion(content: "signed"), Token);

        await using var unsigned = roles.CreateAppStore(key: null);
        Assert.Equal(0, await unsigned.ForTenant(tenant).CountAsync(cancellationToken: Token));
        await Assert.ThrowsAnyAsync<Exception>(() => unsigned.ForTenant(tenant).SaveAsync(TestCompletions.Completion(content: "unsigned"), Token));
        Assert.Equal(1, await roles.Admin.ScalarAsync<long>("SELECT count(*) FROM chat_completions WHERE tenant = $1", tenant));
    }

    [Fact]
    public async Task Sql_of_the_least_privilege_role_cannot_cross_tenants()
    {
        var (acme, globex) = (UniqueTenant(), UniqueTenant());
        await using (var app = roles.CreateAppStore(roles.Key))
        {
            await app.ForTenant(acme).SaveManyAsync(Completions(4, "acme"), Token).ToListAsync(Token);
            await app.ForTenant(globex).SaveManyAsync(Completions(4, "globex"), Token).ToListAsync(Token);
        }

        var acmeProof = Proof(acme, roles.Key);
        var forgedKey = RandomNumberGenerator.GetBytes(32);
        var seesGlobex = $"SELECT count(*) FROM chat_completions WHERE tenant = '{globex}'";
        var failures = new List<string>();

        async Task Check(string name, string? tenant, string? proof, Func<NpgsqlConnection, NpgsqlTransaction, Task<bool>> crossed)
        {
            await using var connection = await roles.App.OpenConnectionAsync(Token);
            await using var transaction = await connection.BeginTransactionAsync(Token);
            if (tenant is not null)
            {
                await using var claim = new NpgsqlCommand("SELECT storage_claim_tenant($1, $2)", connection, transaction);
                claim.Parameters.Add(new NpgsqlParameter { Value = tenant });
                claim.Parameters.Add(new NpgsqlParameter { Value = proof ?? "" });
                await claim.ExecuteNonQueryAsync(Token);
            }

            if (await crossed(connection, transaction))
            {
                failures.Add(name);
            }
        }

        static async Task<long> Long(NpgsqlConnection c, NpgsqlTransaction t, string sql)
        {
            await using var command = new NpgsqlCommand(sql, c, t);
            return Convert.ToInt64(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture);
        }

        static async Task<bool> Refused(NpgsqlConnection c, NpgsqlTransaction t, string sql)
        {
            try
            {
                await Long(c, t, sql);
                return false;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.InternalError)
            {
                return true;
            }
        }

        var insertGlobex = $"WITH i AS (INSERT INTO chat_completions (tenant, completion_key, created, id, object, model, content_hash) "
            + $"VALUES ('{globex}', 42, now(), 'chatcmpl-x', 'chat.completion', 'm', '\\x00') RETURNING 1) SELECT count(*) FROM i";

        await Check("no claim: reads", null, null, async (c, t) => await Long(c, t, "SELECT count(*) FROM chat_completions") > 0);
        await Check("no claim: usage", null, null, async (c, t) => await Long(c, t, "SELECT count(*) FROM chat_completion_usage_daily") > 0);
        await Check("no claim: insert", null, null, async (c, t) => !await Refused(c, t, insertGlobex));
        await Check("session claim only (set_config)", null, null, async (c, t) =>
        {
            await Long(c, t, $"SELECT count(*) FROM (SELECT set_config('storage.tenant', '{acme}', false), set_config('storage.tenant_proof', '{acmeProof}', false)) AS s");
            return await Long(c, t, "SELECT count(*) FROM chat_completions") > 0;
        });
        await Check("acme's claim: acme's rows are visible", acme, acmeProof, async (c, t) => await Long(c, t, $"SELECT count(*) FROM chat_completions WHERE tenant = '{acme}'") != 4);
        await Check("acme's claim: reads globex", acme, acmeProof, async (c, t) => await Long(c, t, seesGlobex) > 0);
        await Check("acme's claim: reads globex's choices", acme, acmeProof, async (c, t) => await Long(c, t, $"SELECT count(*) FROM chat_completion_choices WHERE tenant = '{globex}'") > 0);
        await Check("acme's claim: reads globex's usage", acme, acmeProof, async (c, t) => await Long(c, t, $"SELECT count(*) FROM chat_completion_usage_daily WHERE tenant = '{globex}'") > 0);
        await Check("acme's claim: updates globex", acme, acmeProof, async (c, t) => await Long(c, t, $"WITH u AS (UPDATE chat_completions SET model = 'stolen' WHERE tenant = '{globex}' RETURNING 1) SELECT count(*) FROM u") > 0);
        await Check("acme's claim: deletes globex", acme, acmeProof, async (c, t) => await Long(c, t, $"WITH d AS (DELETE FROM chat_completions WHERE tenant = '{globex}' RETURNING 1) SELECT count(*) FROM d") > 0);
        await Check("acme's claim: inserts into globex", acme, acmeProof, async (c, t) => !await Refused(c, t, insertGlobex));
        await Check("acme's claim: moves its row to globex", acme, acmeProof, async (c, t) => !await Refused(c, t, $"WITH u AS (UPDATE chat_completions SET tenant = '{globex}' WHERE tenant = '{acme}' RETURNING 1) SELECT count(*) FROM u"));
        await Check("globex claimed with acme's proof", globex, acmeProof, async (c, t) => await Long(c, t, seesGlobex) > 0);
        await Check("globex claimed with a proof from another key", globex, Proof(globex, forgedKey), async (c, t) => await Long(c, t, seesGlobex) > 0);
        await Check("globex claimed by SET LOCAL without a proof", null, null, async (c, t) =>
        {
            await Long(c, t, "SELECT count(*) FROM (SELECT 1) AS s");
            await using (var set = new NpgsqlCommand($"SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL storage.tenant = '{globex}'", c, t))
            {
                await set.ExecuteNonQueryAsync(Token);
            }

            return await Long(c, t, seesGlobex) > 0;
        });
        await Check("naming a partition directly", acme, acmeProof, async (c, t) => !await Refused(c, t, $"SELECT count(*) FROM chat_completions_default WHERE tenant = '{globex}'"));
        await Check("naming a partition directly, no claim", null, null, async (c, t) => !await Refused(c, t, "SELECT count(*) FROM chat_completions_default"));
        await Check("reading the signing key", acme, acmeProof, async (c, t) => !await Refused(c, t, "SELECT count(*) FROM storage_tenant_key"));
        await Check("turning row-level security off", acme, acmeProof, async (c, t) => !await Refused(c, t, "SELECT count(*) FROM (SELECT storage_set_row_level_security(false)) AS s"));
        await Check("replacing the signing key", acme, acmeProof, async (c, t) => !await Refused(c, t, $"SELECT count(*) FROM (SELECT storage_set_tenant_key('\\x{Convert.ToHexString(forgedKey)}')) AS s"));

        Assert.Empty(failures);
        Assert.Equal(4, await roles.Admin.ScalarAsync<long>("SELECT count(*) FROM chat_completions WHERE tenant = $1 AND model <> 'stolen'", globex));
    }

    private static string Proof(string tenant, byte[] key) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(tenant)));
}
