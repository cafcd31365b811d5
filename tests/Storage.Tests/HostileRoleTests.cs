using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Storage.Tests;

/// <summary>
/// The application role of the README turned against the store: SQL of its own, run as that role, on a multi-tenant
/// deployment (row-level security on, tenant claims signed). Each attempt tries to forge the usage totals, reach
/// another tenant's rows, or undo a protection; it must be refused or come to nothing. The census afterwards, as the
/// superuser, checks that nothing changed that should not have.
/// </summary>
public sealed class HostileRoleTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private const string Rollup = "chat_completion_usage_daily";
    private const string HourlyRollup = "chat_completion_usage_hourly";

    // A completion row of the attacker's own: what a SQL-injected INSERT would write.
    private static string InsertRow(string tenant, long key) =>
        $"INSERT INTO chat_completions (completion_key, created, tenant, id, object, model, content_hash, cost_clamped, usage_total_tokens) " +
        $"VALUES ({key}, '2026-01-01T00:00:00Z', '{tenant}', 'hostile-{key}', 'chat.completion', 'hostile-model', '\\x00', false, 1000000)";

    [Fact]
    public async Task Sql_of_the_application_role_can_neither_forge_totals_nor_cross_tenants_nor_lift_a_protection()
    {
        await using var roles = await RoleDatabase.CreateAsync(postgres, Token);
        await roles.EnableRowLevelSecurityAsync(Token);
        var key = RandomNumberGenerator.GetBytes(32);
        await roles.InstallTenantKeyAsync(key, Token);
        await using var admin = NpgsqlDataSource.Create(roles.AdminConnectionString);
        await using (var owner = NpgsqlDataSource.Create(roles.OwnerConnectionString))
        await using (var seeding = new ChatCompletionStore(owner))
        {
            // The owner is not bound by row-level security: it seeds both tenants.
            await seeding.ForTenant("acme").SaveAsync(TestCompletions.Completion(), Token);
            await seeding.ForTenant("globex").SaveAsync(TestCompletions.Completion(), Token);
            await seeding.ForTenant("globex").SaveAsync(TestCompletions.Completion(), Token);
            // One in the current month's partition, which retention under another tenant's claim must not drop.
            var current = TestCompletions.Completion();
            current.Created = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            await seeding.ForTenant("globex").SaveAsync(current, Token);
        }

        var globexBefore = await TextAsync(admin, "SELECT string_agg(format('%s|%s|%s', completion_key, model, metadata), ',' ORDER BY completion_key) FROM chat_completions WHERE tenant = 'globex'");
        var acmeClaim = Claim("acme", key);
        var forged = Claim("globex", ForgedKey);
        var attempts = new List<(string Name, Func<NpgsqlConnection, Task<bool>> Attack)>
        {
            // Shadowing: a temporary table of each name the functions touch, then a write that fires them.
            ($"TEMP {Rollup} before an insert", async c => { await Run(c, acmeClaim, $"CREATE TEMP TABLE {Rollup} (LIKE public.{Rollup})", InsertRow("acme", 101)); return await Long(c, $"SELECT count(*) FROM pg_temp.{Rollup}") > 0; }),
            ("TEMP storage_tenant_key with a key of its own", async c => { await Run(c, forged, "CREATE TEMP TABLE storage_tenant_key (only_row boolean, key bytea)", $"INSERT INTO pg_temp.storage_tenant_key VALUES (true, '\\x{Convert.ToHexString(ForgedKey)}')"); return await SeesGlobex(c); }),
            ("TEMP chat_completions, then the compaction", async c => { await Run(c, acmeClaim, "CREATE TEMP TABLE chat_completions (LIKE public.chat_completions)", "SELECT storage_compact_usage()"); return false; }),
            ("hostile search_path (pg_temp first) before an insert", async c => { await Run(c, acmeClaim, $"CREATE TEMP TABLE {Rollup} (LIKE public.{Rollup})", "SET search_path = pg_temp, public", InsertRow("acme", 102)); return await Long(c, $"SELECT count(*) FROM pg_temp.{Rollup}") > 0; }),
            ("search_path without public", async c => { await Run(c, acmeClaim, "SET search_path = pg_temp", "SELECT public.storage_current_tenant()"); return await SeesGlobex(c); }),
            // Claims: another tenant without a proof, with the proof of its own tenant, with a proof signed by a wrong key.
            ("set_config of another tenant without a proof", async c => { await Run(c, null, "SELECT set_config('storage.tenant', 'globex', false)"); return await SeesGlobex(c) || await Writes(c, "UPDATE chat_completions SET model = 'stolen'") || await Writes(c, "DELETE FROM chat_completions"); }),
            ("set_config of another tenant with its own tenant's proof", async c => { await Run(c, null, "SELECT set_config('storage.tenant', 'globex', false)", $"SELECT set_config('storage.tenant_proof', '{acmeClaim.Proof}', false)"); return await SeesGlobex(c) || await Writes(c, "DELETE FROM chat_completions"); }),
            ("set_config of another tenant with a proof from another key", async c => { await Run(c, forged); return await SeesGlobex(c) || await Writes(c, "DELETE FROM chat_completions"); }),
            ("an unsigned claim of the unscoped tenant", async c => { await Run(c, null, "SELECT set_config('storage.tenant', '', false)"); return await Long(c, "SELECT count(*) FROM chat_completions") > 0; }),
            ("an insert into another tenant under its own claim", async c => { await Run(c, acmeClaim, InsertRow("globex", 103)); return true; }),
            ("moving its own row to another tenant", async c => { await Run(c, acmeClaim, "UPDATE chat_completions SET tenant = 'globex'"); return true; }),
            // The totals: written only by the owner's triggers.
            ($"INSERT INTO {Rollup}", async c => { await Run(c, acmeClaim, $"INSERT INTO {Rollup} VALUES ('acme', '2026-01-01', 'm', 0, 1, 0, 0, 0, 0, 0, 0, 0)"); return true; }),
            ($"UPDATE {Rollup}", async c => { await Run(c, acmeClaim, $"UPDATE {Rollup} SET total_tokens = 0"); return true; }),
            ($"UPDATE {Rollup} SET cost = 0", async c => { await Run(c, acmeClaim, $"UPDATE {Rollup} SET cost = 0, unpriced = 0"); return true; }),
            // The prices: read by the application, written only by the owner.
            ("INSERT INTO chat_completion_prices", async c => { await Run(c, acmeClaim, "INSERT INTO chat_completion_prices VALUES ('gpt-4o', 'input_cost_per_token', now(), 0)"); return true; }),
            ("UPDATE chat_completion_prices", async c => { await Run(c, acmeClaim, "UPDATE chat_completion_prices SET usd_per_token = 0"); return true; }),
            ("DELETE FROM chat_completion_prices", async c => { await Run(c, acmeClaim, "DELETE FROM chat_completion_prices"); return true; }),
            ("TRUNCATE chat_completion_prices", async c => { await Run(c, acmeClaim, "TRUNCATE chat_completion_prices"); return true; }),
            ($"DELETE FROM {Rollup}", async c => { await Run(c, acmeClaim, $"DELETE FROM {Rollup}"); return true; }),
            ($"TRUNCATE {Rollup}", async c => { await Run(c, acmeClaim, $"TRUNCATE {Rollup}"); return true; }),
            ($"INSERT INTO {HourlyRollup}", async c => { await Run(c, acmeClaim, $"INSERT INTO {HourlyRollup} VALUES ('acme', '2026-01-01', 'm', 0, 1, 0, 0, 0, 0, 0, 0, 0)"); return true; }),
            ($"UPDATE {HourlyRollup}", async c => { await Run(c, acmeClaim, $"UPDATE {HourlyRollup} SET total_tokens = 0, cost = 0"); return true; }),
            ($"DELETE FROM {HourlyRollup}", async c => { await Run(c, acmeClaim, $"DELETE FROM {HourlyRollup}"); return true; }),
            ($"TRUNCATE {HourlyRollup}", async c => { await Run(c, acmeClaim, $"TRUNCATE {HourlyRollup}"); return true; }),
            ($"TEMP {HourlyRollup} before an insert", async c => { await Run(c, acmeClaim, $"CREATE TEMP TABLE {HourlyRollup} (LIKE public.{HourlyRollup})", InsertRow("acme", 104)); return await Long(c, $"SELECT count(*) FROM pg_temp.{HourlyRollup}") > 0; }),
            ("TRUNCATE chat_completions", async c => { await Run(c, acmeClaim, "TRUNCATE chat_completions"); return true; }),
            ("calling the trigger function", async c => { await Run(c, acmeClaim, "SELECT storage_usage_daily_apply()"); return true; }),
            // The protections themselves.
            ("reading the signing key", async c => { await Run(c, acmeClaim, "SELECT key FROM public.storage_tenant_key"); return true; }),
            ("replacing the signing key", async c => { await Run(c, acmeClaim, $"SELECT storage_set_tenant_key('\\x{Convert.ToHexString(ForgedKey)}')"); return true; }),
            ("turning row-level security off by function", async c => { await Run(c, acmeClaim, "SELECT storage_set_row_level_security(false)"); return true; }),
            ("turning row-level security off by ALTER TABLE", async c => { await Run(c, acmeClaim, "ALTER TABLE chat_completions DISABLE ROW LEVEL SECURITY"); return true; }),
            ("disabling the triggers", async c => { await Run(c, acmeClaim, "ALTER TABLE chat_completions DISABLE TRIGGER ALL"); return true; }),
            ("session_replication_role = replica", async c => { await Run(c, acmeClaim, "SET session_replication_role = replica"); return true; }),
            ("row_security = off", async c => { await Run(c, null, "SET row_security = off", "SELECT count(*) FROM chat_completions"); return true; }),
            ("replacing the tenant function", async c => { await Run(c, acmeClaim, "CREATE OR REPLACE FUNCTION public.storage_current_tenant() RETURNS text LANGUAGE sql AS $$ SELECT 'globex' $$"); return true; }),
            ("a function of its own in public", async c => { await Run(c, acmeClaim, "CREATE FUNCTION public.storage_token_count(jsonb) RETURNS numeric LANGUAGE sql AS $$ SELECT 0 $$"); return true; }),
            ("a policy of its own", async c => { await Run(c, acmeClaim, "CREATE POLICY open ON chat_completions USING (true)"); return true; }),
            // Partitions: named directly, neither row-level security nor the parent's privileges would apply.
            ("naming a partition directly", async c => { await Run(c, acmeClaim, "SELECT count(*) FROM public.chat_completions_default"); return true; }),
            ("writing into a partition directly", async c => { await Run(c, acmeClaim, InsertRow("globex", 104).Replace("INTO chat_completions ", "INTO public.chat_completions_default ", StringComparison.Ordinal)); return true; }),
            ("dropping partitions that hold another tenant's rows", async c => { await Run(c, acmeClaim, "SELECT storage_drop_partitions_before('infinity')"); return false; }),
            ("dropping partitions under a forged claim", async c => { await Run(c, forged, "SELECT storage_drop_partitions_before('infinity')"); return false; }),
            ("DROP TABLE of a partition", async c => { await Run(c, acmeClaim, "DROP TABLE public.chat_completions_default"); return true; }),
            ("calling the partition maker directly", async c => { await Run(c, acmeClaim, "SELECT storage_create_partition('2030-01-01', '2030-02-01')"); return true; }),
            ("turning the search indexes on", async c => { await Run(c, acmeClaim, "SELECT storage_search_index(true)"); return true; }),
            ("dropping the search indexes", async c => { await Run(c, acmeClaim, "SELECT storage_search_index(false)"); return true; }),
            ("replacing a search function", async c => { await Run(c, acmeClaim, "CREATE OR REPLACE FUNCTION public.storage_search_request(jsonb) RETURNS text LANGUAGE sql IMMUTABLE RETURN 'x'"); return true; }),
            ("SET ROLE to the owner", async c => { await Run(c, acmeClaim, $"SET ROLE {new NpgsqlConnectionStringBuilder(roles.OwnerConnectionString).Username}"); return true; }),
        };

        var succeeded = new List<string>();
        await using (var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(roles.AppConnectionString) { Pooling = false }.ConnectionString))
        {
            foreach (var (name, attack) in attempts)
            {
                // Each attempt on a session of its own, so one's settings cannot help or hinder the next.
                await using var connection = await app.OpenConnectionAsync(Token);
                try
                {
                    if (await attack(connection))
                    {
                        succeeded.Add(name);
                    }
                }
                catch (PostgresException)
                {
                    // Refused.
                }
            }
        }

        // The census, as the superuser: the other tenant untouched, and the totals equal to the rows.
        Assert.Equal(globexBefore, await TextAsync(admin, "SELECT string_agg(format('%s|%s|%s', completion_key, model, metadata), ',' ORDER BY completion_key) FROM chat_completions WHERE tenant = 'globex'"));
        Assert.Equal(
            await TextAsync(admin, "SELECT string_agg(format('%s|%s|%s|%s', tenant, model, n, t), ',' ORDER BY tenant, model) FROM (SELECT tenant, model, count(*) AS n, sum(coalesce(usage_total_tokens, 0)) AS t FROM chat_completions GROUP BY 1, 2) AS r"),
            await TextAsync(admin, $"SELECT string_agg(format('%s|%s|%s|%s', tenant, model, n, t), ',' ORDER BY tenant, model) FROM (SELECT tenant, model, sum(completions) AS n, sum(total_tokens) AS t FROM {Rollup} GROUP BY 1, 2 HAVING sum(completions) <> 0) AS r"));
        Assert.Equal(
            await TextAsync(admin, $"SELECT string_agg(format('%s|%s|%s|%s', tenant, model, n, t), ',' ORDER BY tenant, model) FROM (SELECT tenant, model, sum(completions) AS n, sum(total_tokens) AS t FROM {Rollup} GROUP BY 1, 2 HAVING sum(completions) <> 0) AS r"),
            await TextAsync(admin, $"SELECT string_agg(format('%s|%s|%s|%s', tenant, model, n, t), ',' ORDER BY tenant, model) FROM (SELECT tenant, model, sum(completions) AS n, sum(total_tokens) AS t FROM {HourlyRollup} GROUP BY 1, 2 HAVING sum(completions) <> 0) AS r"));
        Assert.Equal(1, await Long(admin, "SELECT count(*) FROM storage_tenant_key WHERE key = $1", key));
        Assert.Equal(4, await Long(admin, $"SELECT count(*) FROM pg_class WHERE relname IN ('chat_completions', 'chat_completion_choices', '{Rollup}', '{HourlyRollup}') AND relrowsecurity"));

        var summary = $"hostile role: {attempts.Count} tried, succeeded {succeeded.Count}";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Assert.True(succeeded.Count == 0, $"{summary}: {string.Join("; ", succeeded)}");
    }

    private static readonly byte[] ForgedKey = RandomNumberGenerator.GetBytes(32);

    private sealed record TenantClaim(string Tenant, string Proof);

    private static TenantClaim Claim(string tenant, byte[] key) =>
        new(tenant, Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(tenant))));

    private static async Task Run(NpgsqlConnection connection, TenantClaim? claim, params string[] statements)
    {
        if (claim is not null)
        {
            await using var set = new NpgsqlCommand("SELECT set_config('storage.tenant', $1, false), set_config('storage.tenant_proof', $2, false)", connection);
            set.Parameters.Add(new NpgsqlParameter { Value = claim.Tenant });
            set.Parameters.Add(new NpgsqlParameter { Value = claim.Proof });
            await set.ExecuteNonQueryAsync(Token);
        }

        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(Token);
        }
    }

    private static async Task<bool> SeesGlobex(NpgsqlConnection connection) =>
        await Long(connection, "SELECT count(*) FROM public.chat_completions WHERE tenant = 'globex'") > 0
        || await Long(connection, $"SELECT count(*) FROM public.{Rollup} WHERE tenant = 'globex'") > 0
        || await Long(connection, $"SELECT count(*) FROM public.{HourlyRollup} WHERE tenant = 'globex'") > 0;

    private static async Task<bool> Writes(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(Token) > 0;
    }

    private static async Task<long> Long(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<long> Long(NpgsqlDataSource dataSource, string sql, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(Token), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string?> TextAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (string?)await command.ExecuteScalarAsync(Token);
    }
}
