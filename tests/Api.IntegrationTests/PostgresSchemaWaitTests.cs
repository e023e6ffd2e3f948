using System.Diagnostics;
using Npgsql;

namespace Api.IntegrationTests;

/// <summary>
/// Issue 11's start-up race: a process that does not migrate (<c>Storage:MigrateOnStartup</c> false) neither
/// installs Hangfire's schema nor reads tables before <c>Api migrate</c> has created them; it waits, and gives up
/// after <c>Storage:SchemaWaitTimeout</c> with an error naming that key. (tests/faults/run.sh starts migrate, the
/// Api and two workers at the same moment and checks their logs.)
/// </summary>
public sealed class PostgresSchemaWaitTests : IAsyncLifetime
{
    private string _connection = "";

    public async Task InitializeAsync() => _connection = await PostgresServer.CreateDatabaseAsync();

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(_connection);

    [Fact]
    public async Task Worker_EmptyDatabaseAndNoMigrate_WaitsThenFailsNamingTheSettingAndCreatesNothing()
    {
        // Arrange
        var output = new System.Text.StringBuilder();
        using Process worker = Start("Worker.dll", output, ("Storage__SchemaWaitTimeout", "00:00:06"));

        // Act
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await worker.WaitForExitAsync(timeout.Token);

        // Assert
        string log = Read(output);
        Assert.NotEqual(0, worker.ExitCode);
        Assert.Contains("Waiting for the database schema", log);
        Assert.Contains("Storage:SchemaWaitTimeout", log);
        Assert.False(log.Contains("fail: Microsoft.EntityFrameworkCore"), log);   // waiting is quiet: no failed query per poll
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('hangfire', 'public')"));
    }

    [Fact]
    public async Task Worker_MigrateRunsWhileItWaits_StartsWithTheSchemaInstalledByMigrate()
    {
        // Arrange: the worker starts first and waits.
        var output = new System.Text.StringBuilder();
        int port = ApiProcess.FreePort();
        using Process worker = Start("Worker.dll", output, ("Worker__MetricsPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        try
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(90);
            while (!Read(output).Contains("Waiting for the database schema") && DateTime.UtcNow < deadline && !worker.HasExited)
            {
                await Task.Delay(250);
            }
            Assert.Contains("Waiting for the database schema", Read(output));

            // Act: the migration runs (our migrations, then Hangfire's schema).
            var migrateOutput = new System.Text.StringBuilder();
            using (Process migrate = Start("Api.dll", migrateOutput, ("__argument", "migrate")))
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                await migrate.WaitForExitAsync(timeout.Token);
                Assert.True(migrate.ExitCode == 0, Read(migrateOutput));
            }

            // Assert: the worker becomes ready on the schema migrate installed.
            using var probe = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            HttpStatusCode status = 0;
            deadline = DateTime.UtcNow.AddSeconds(90);
            while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline && !worker.HasExited)
            {
                try
                {
                    status = (await probe.GetAsync("/health/ready")).StatusCode;
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(500);
            }
            Assert.True(status == HttpStatusCode.OK, Read(output));
            Assert.True(await ScalarAsync("SELECT max(version::integer) FROM hangfire.schema") >= global::Infrastructure.Data.DatabaseSchema.HangfireSchemaVersion());
            // No error but the readiness probes that ran before the Hangfire server had registered (expected 503s).
            Assert.DoesNotContain(Read(output).Split('\n'), l => l.StartsWith("fail:", StringComparison.Ordinal)
                && !l.Contains("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal));
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
            }
        }
    }

    private Process Start(string dll, System.Text.StringBuilder output, params (string Key, string Value)[] settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, dll) },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        start.Environment["Storage__Provider"] = "Postgres";
        start.Environment["ConnectionStrings__Postgres"] = _connection;
        start.Environment["Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), $"tas-schema-wait-{Guid.NewGuid():N}");
        start.Environment["Storage__MigrateOnStartup"] = "false";
        start.Environment["Worker__InProcess"] = "false";
        start.Environment["Worker__Device"] = "cpu";
        start.Environment["Worker__Threads"] = "1";
        start.Environment["JobQueue__Schema"] = "hangfire";
        foreach ((string key, string value) in settings)
        {
            if (key == "__argument")
            {
                start.ArgumentList.Add(value);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        DataReceivedEventHandler append = (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Read(System.Text.StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
