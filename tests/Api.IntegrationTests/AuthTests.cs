using System.Net.Http.Headers;
using System.Text;
using Api.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Api.IntegrationTests;

/// <summary>API keys: roles, tenants and keys, revocation, the browser pages, and the bootstrap paths.</summary>
public abstract class AuthTests<TApi>(TApi api) where TApi : ApiFactory
{
    private async Task<(Guid Tenant, string Key, Guid KeyId)> NewTenantWithKeyAsync(string role = "Member")
    {
        HttpClient root = api.CreateClient();
        using HttpResponseMessage tenant = await root.PostAsJsonAsync("/api/v1/tenants", new { name = $"t-{Guid.NewGuid():N}"[..16] });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        Guid id = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (string key, Guid keyId) = await NewKeyAsync(root, id, role);
        return (id, key, keyId);
    }

    private static async Task<(string Key, Guid KeyId)> NewKeyAsync(HttpClient admin, Guid tenant, string role = "Member")
    {
        using HttpResponseMessage key = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "ci", role });
        Assert.True(key.StatusCode == HttpStatusCode.Created, await key.Content.ReadAsStringAsync());
        JsonElement body = await key.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(role, body.GetProperty("role").GetString());
        return (body.GetProperty("key").GetString()!, body.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task AdminCreatesTenantAndKey_KeyWorksListedWithoutSecret_RevokedKeyGets401()
    {
        (Guid tenant, string key, Guid keyId) = await NewTenantWithKeyAsync();
        HttpClient client = api.CreateClient(key);

        JsonElement me = await client.GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.Equal(tenant, me.GetProperty("tenantId").GetGuid());
        Assert.Equal("ci", me.GetProperty("keyName").GetString());
        Assert.StartsWith("tsk_", key, StringComparison.Ordinal);
        string listed = await api.CreateClient().GetStringAsync($"/api/v1/tenants/{tenant}/keys");
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        Assert.Contains(key[..12], listed, StringComparison.Ordinal);
        string storedHash = await api.WithDbAsync(db => db.ApiKeys.Where(k => k.Id == keyId).Select(k => k.Hash).SingleAsync());
        Assert.Equal(Domain.Tenants.ApiKey.HashOf(key), storedHash);

        using HttpResponseMessage revoked = await api.CreateClient().DeleteAsync($"/api/v1/tenants/{tenant}/keys/{keyId}");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        using HttpResponseMessage after = await client.GetAsync("/api/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("unknown or revoked", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MemberKey_Gets403OnTenantAdministration()
    {
        (Guid tenant, string userKey, _) = await NewTenantWithKeyAsync();
        HttpClient member = api.CreateClient(userKey);
        using HttpResponseMessage refused = await member.GetAsync("/api/v1/tenants");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync($"/api/v1/tenants/{tenant}/keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "x" })).StatusCode);
        Assert.Equal("Member", (await member.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("role").GetString());
    }

    /// <summary>
    /// Issue 13's reproduction: an admin key of one tenant created tenants, minted admin keys for every other tenant and
    /// for <c>default</c>, listed and revoked their keys. A tenant admin now manages only its own tenant's keys.
    /// </summary>
    [Fact]
    public async Task TenantAdmin_ManagesOnlyItsOwnTenantsKeys_NeverTenantsOrOtherTenantsOrServiceAdminKeys()
    {
        (Guid own, string adminKey, Guid adminKeyId) = await NewTenantWithKeyAsync("TenantAdmin");
        (Guid other, _, Guid otherKeyId) = await NewTenantWithKeyAsync();
        HttpClient tenantAdmin = api.CreateClient(adminKey);
        Guid bootstrapKeyId = (await api.CreateClient().GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("keyId").GetGuid();

        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.GetAsync("/api/v1/tenants")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.PostAsJsonAsync("/api/v1/tenants", new { name = "sneaky" })).StatusCode);
        foreach (Guid foreign in new[] { other, Domain.Tenants.Tenant.DefaultId })
        {
            await ExpectProblemAsync(await tenantAdmin.GetAsync($"/api/v1/tenants/{foreign}/keys"), HttpStatusCode.NotFound);
            foreach (object body in new object[] { new { name = "sneaky", role = "ServiceAdmin" }, new { name = "sneaky", isAdmin = true }, new { name = "sneaky" } })
            {
                await ExpectProblemAsync(await tenantAdmin.PostAsJsonAsync($"/api/v1/tenants/{foreign}/keys", body), HttpStatusCode.NotFound);
            }
        }
        await ExpectProblemAsync(await tenantAdmin.DeleteAsync($"/api/v1/tenants/{other}/keys/{otherKeyId}"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(await tenantAdmin.DeleteAsync($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys/{bootstrapKeyId}"), HttpStatusCode.NotFound);
        // A key id of another tenant under the admin's own tenant is not found either.
        await ExpectProblemAsync(await tenantAdmin.DeleteAsync($"/api/v1/tenants/{own}/keys/{otherKeyId}"), HttpStatusCode.NotFound);
        await ExpectProblemAsync(
            await tenantAdmin.PostAsJsonAsync($"/api/v1/tenants/{own}/keys", new { name = "escalate", role = "ServiceAdmin" }), HttpStatusCode.Forbidden);
        Assert.Equal(2, await api.WithDbAsync(db => db.ApiKeys.CountAsync(k => k.TenantId == own || k.TenantId == other)));
        Assert.Equal(HttpStatusCode.OK, (await api.CreateClient().GetAsync("/api/v1/me")).StatusCode);

        // Its own tenant: list, create member and tenant-admin keys, revoke them.
        JsonElement[] listed = (await tenantAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{own}/keys")).EnumerateArray().ToArray();
        Assert.Equal(adminKeyId, Assert.Single(listed).GetProperty("id").GetGuid());
        (string member, Guid memberId) = await NewKeyAsync(tenantAdmin, own);
        (_, Guid secondAdminId) = await NewKeyAsync(tenantAdmin, own, "TenantAdmin");
        Assert.Equal(own, (await api.CreateClient(member).GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("tenantId").GetGuid());
        Assert.Equal(HttpStatusCode.NoContent, (await tenantAdmin.DeleteAsync($"/api/v1/tenants/{own}/keys/{memberId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await tenantAdmin.DeleteAsync($"/api/v1/tenants/{own}/keys/{secondAdminId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.CreateClient(member).GetAsync("/api/v1/me")).StatusCode);

        // A service-admin key the service admin put in this tenant is beyond the tenant admin.
        (_, Guid serviceAdminId) = await NewKeyAsync(api.CreateClient(), own, "ServiceAdmin");
        await ExpectProblemAsync(await tenantAdmin.DeleteAsync($"/api/v1/tenants/{own}/keys/{serviceAdminId}"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ServiceAdmin_ManagesEveryTenant_IsAdminStaysADeprecatedAliasOfTenantAdmin()
    {
        HttpClient root = api.CreateClient();
        JsonElement me = await root.GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.Equal("ServiceAdmin", me.GetProperty("role").GetString());
        Assert.True(me.GetProperty("isAdmin").GetBoolean());
        (Guid tenant, _, _) = await NewTenantWithKeyAsync();

        using HttpResponseMessage legacy = await root.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "old-client", isAdmin = true });
        Assert.Equal(HttpStatusCode.Created, legacy.StatusCode);
        JsonElement body = await legacy.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("TenantAdmin", body.GetProperty("role").GetString());
        Assert.True(body.GetProperty("isAdmin").GetBoolean());
        (string serviceAdmin, _) = await NewKeyAsync(root, tenant, "ServiceAdmin");
        Assert.Equal(HttpStatusCode.OK, (await api.CreateClient(serviceAdmin).GetAsync("/api/v1/tenants")).StatusCode);
        JsonElement[] keys = (await root.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{tenant}/keys")).EnumerateArray().ToArray();
        Assert.Equal(["Member", "TenantAdmin", "ServiceAdmin"], keys.Select(k => k.GetProperty("role").GetString()));
        Assert.Equal([false, true, true], keys.Select(k => k.GetProperty("isAdmin").GetBoolean()));

        await ApiClient.AssertProblemAsync(
            await root.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "x", role = "TenantAdmin", isAdmin = false }), HttpStatusCode.BadRequest, "isAdmin");
        using HttpResponseMessage unknownRole = await root.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "x", role = "Root" });
        Assert.Equal(HttpStatusCode.BadRequest, unknownRole.StatusCode);
    }

    /// <summary>
    /// Issue 13: a check that read the key before its revocation committed cached it afterwards, so the revoked key
    /// kept working for Auth:KeyCacheDuration. The lookup is held between its read and its caching while the key is revoked.
    /// </summary>
    [Fact]
    public async Task Revocation_DuringAnInFlightKeyCheck_IsNotUndoneByItsCaching()
    {
        (Guid tenant, string key, Guid keyId) = await NewTenantWithKeyAsync();
        ApiKeyVerifier verifier = api.Services.GetRequiredService<ApiKeyVerifier>();
        string hash = Domain.Tenants.ApiKey.HashOf(key);
        var looked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        verifier.AfterLookup = async h =>
        {
            if (h == hash)
            {
                looked.TrySetResult();
                await release.Task;
            }
        };
        try
        {
            Task<ApiKeyIdentity?> inFlight = verifier.VerifyAsync(key, CancellationToken.None);
            await looked.Task.WaitAsync(TimeSpan.FromSeconds(30));
            using HttpResponseMessage revoked = await api.CreateClient().DeleteAsync($"/api/v1/tenants/{tenant}/keys/{keyId}");
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            verifier.AfterLookup = null;
            release.SetResult();
            // The check began while the key was valid, so it may answer for its own request...
            Assert.NotNull(await inFlight.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            verifier.AfterLookup = null;
            release.TrySetResult();
        }
        // ...but it must not have put the revoked key back into the cache.
        Assert.Null(await verifier.VerifyAsync(key, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.CreateClient(key).GetAsync("/api/v1/me")).StatusCode);
    }

    private static async Task ExpectProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task CreateTenant_SameNameConcurrently_OneCreatedTheRestConflict()
    {
        HttpClient root = api.CreateClient();
        string name = $"race-{Guid.NewGuid():N}"[..20];

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => root.PostAsJsonAsync("/api/v1/tenants", new { name })));

        string statuses = string.Join(", ", responses.Select(r => (int)r.StatusCode));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.True(responses.All(r => r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict), statuses);
        foreach (HttpResponseMessage response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task TenantAndKeyRequests_BadInput_ProblemDetailsNamingTheField()
    {
        HttpClient root = api.CreateClient();
        await ApiClient.AssertProblemAsync(await root.PostAsJsonAsync("/api/v1/tenants", new { name = "Not A Slug" }), HttpStatusCode.BadRequest, "name");
        using HttpResponseMessage duplicate = await root.PostAsJsonAsync("/api/v1/tenants", new { name = "default" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        await ApiClient.AssertProblemAsync(
            await root.PostAsJsonAsync($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys", new { name = "" }), HttpStatusCode.BadRequest, "name");
        using HttpResponseMessage unknownTenant = await root.PostAsJsonAsync($"/api/v1/tenants/{Guid.NewGuid()}/keys", new { name = "x" });
        Assert.Equal(HttpStatusCode.NotFound, unknownTenant.StatusCode);
        Guid ownKey = (await root.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("keyId").GetGuid();
        using HttpResponseMessage self = await root.DeleteAsync($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys/{ownKey}");
        Assert.Equal(HttpStatusCode.Conflict, self.StatusCode);
    }

    [Fact]
    public async Task HealthProbes_NeedNoKey()
    {
        HttpClient anonymous = api.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz/ready")).StatusCode);
    }

    [Theory]
    [InlineData("/swagger/index.html")]
    [InlineData("/swagger/v1/swagger.json")]
    [InlineData("/hangfire")]
    public async Task BrowserPages_OutsideDevelopment_AskForTheKeyAsBasicPassword(string path)
    {
        using HttpResponseMessage challenged = await api.CreateClient(apiKey: null).GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.Equal("Basic", Assert.Single(challenged.Headers.WwwAuthenticate).Scheme);

        HttpClient browser = api.CreateClient(apiKey: null);
        browser.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes("anyone:" + ApiFactory.AdminKey)));
        using HttpResponseMessage opened = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);

        // Basic is for the browser pages only; the API itself takes the header.
        using HttpResponseMessage api401 = await browser.GetAsync("/api/v1/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, api401.StatusCode);
    }

    [Theory]
    [InlineData("Member")]
    [InlineData("TenantAdmin")]
    public async Task HangfireDashboard_NeedsAServiceAdminKey(string role)
    {
        // The dashboard shows (and, when writable, retries and deletes) every tenant's jobs.
        (_, string userKey, _) = await NewTenantWithKeyAsync(role);
        using HttpResponseMessage refused = await api.CreateClient(userKey).GetAsync("/hangfire");
        Assert.True(refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, refused.StatusCode.ToString());
        using HttpResponseMessage opened = await api.CreateClient().GetAsync("/hangfire");
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
    }

    [Fact]
    public async Task CreateKeyCommand_PrintsAWorkingKeyOfTheNamedTenant()
    {
        var output = new StringWriter();
        TextWriter original = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = await KeyCommand.RunAsync(api.Services, ["--tenant", "from-cli", "--name", "ops"]);
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.Equal(0, exit);
        string key = output.ToString().Trim();
        JsonElement me = await api.CreateClient(key).GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.Equal("from-cli", me.GetProperty("tenantName").GetString());
        Assert.Equal("Member", me.GetProperty("role").GetString());
        Assert.Equal(2, await KeyCommand.RunAsync(api.Services, ["--tenant", "Bad Name"]));
        Assert.Equal(2, await KeyCommand.RunAsync(api.Services, ["--tenant", "from-cli", "--role", "Root"]));
    }
}

public sealed class SqliteAuthTests(SqliteApi api) : AuthTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresAuthTests(PostgresApi api) : AuthTests<PostgresApi>(api), IClassFixture<PostgresApi>;

/// <summary>
/// Start-up without a bootstrap key: the embedded default creates a local key once, shows it once on standard output and
/// stores it; the logger (whose sinks may be files or collectors) never sees the secret.
/// </summary>
public sealed class SqliteLocalKeyBootstrapTests : IAsyncLifetime
{
    private readonly LocalKeyApi _api = new();

    private sealed class LocalKeyApi() : ApiFactory(StorageProvider.Sqlite)
    {
        public RecordingLoggerProvider Logs { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Auth:BootstrapKey", "");
            builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        }
    }

    public Task InitializeAsync() => _api.InitializeAsync();

    public Task DisposeAsync() => _api.DisposeAsync();

    [Fact]
    public async Task FirstStart_CreatesLocalServiceAdminKeyFile_ShowsItOnStdoutNotInTheLog_SecondBootstrapKeepsIt()
    {
        var stdout = new StringWriter();
        TextWriter original = Console.Out;
        Console.SetOut(TextWriter.Synchronized(stdout));
        try
        {
            _ = _api.Server;
        }
        finally
        {
            Console.SetOut(original);
        }
        string file = Path.Combine(_api.DataDirectory, "api-key.txt");
        Assert.True(File.Exists(file));
        string key = (await File.ReadAllTextAsync(file)).Trim();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        Assert.Contains(key, stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains(_api.Logs.Messages, m => m.Contains(file, StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Logs.Messages, m => m.Contains(key, StringComparison.Ordinal));
        JsonElement me = await _api.CreateClient(key).GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.Equal("ServiceAdmin", me.GetProperty("role").GetString());
        Assert.Equal(Domain.Tenants.Tenant.DefaultId, me.GetProperty("tenantId").GetGuid());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _api.CreateClient().GetAsync("/api/v1/datasets")).StatusCode);

        await _api.Services.BootstrapApiKeysAsync();
        Assert.Equal(key, (await File.ReadAllTextAsync(file)).Trim());
        Assert.Equal(1, await _api.WithDbAsync(db => db.ApiKeys.CountAsync()));
        Assert.DoesNotContain(_api.Logs.Messages, m => m.Contains(key, StringComparison.Ordinal));
    }
}

/// <summary>Every formatted log message of a host, to check what reaches the log stream.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

    public IReadOnlyCollection<string> Messages => _messages;

    public ILogger CreateLogger(string categoryName) => new Recorder(_messages);

    public void Dispose()
    {
    }

    private sealed class Recorder(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            messages.Enqueue(formatter(state, exception) + (exception is null ? "" : "\n" + exception));
    }
}

/// <summary>
/// Issue 13: the bootstrap key was un-revoked at every start. A revoked bootstrap key now stays revoked; the operator
/// configures a new one.
/// </summary>
public sealed class SqliteBootstrapKeyRevocationTests : IAsyncLifetime
{
    private readonly SqliteApi _api = new();

    public Task InitializeAsync() => _api.InitializeAsync();

    public Task DisposeAsync() => _api.DisposeAsync();

    [Fact]
    public async Task RevokedBootstrapKey_StaysRevokedAfterTheNextStart()
    {
        HttpClient bootstrap = _api.CreateClient();
        Guid bootstrapId = (await bootstrap.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("keyId").GetGuid();
        using HttpResponseMessage created = await bootstrap.PostAsJsonAsync(
            $"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys", new { name = "successor", role = "ServiceAdmin" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        HttpClient successor = _api.CreateClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.NoContent,
            (await successor.DeleteAsync($"/api/v1/tenants/{Domain.Tenants.Tenant.DefaultId}/keys/{bootstrapId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bootstrap.GetAsync("/api/v1/me")).StatusCode);

        // What every start runs, with Auth:BootstrapKey still configured.
        await _api.Services.BootstrapApiKeysAsync();

        Assert.NotNull(await _api.WithDbAsync(db => db.ApiKeys.Where(k => k.Id == bootstrapId).Select(k => k.RevokedAt).SingleAsync()));
        _api.Services.GetRequiredService<ApiKeyVerifier>().Forget(Domain.Tenants.ApiKey.HashOf(ApiFactory.AdminKey));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bootstrap.GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await successor.GetAsync("/api/v1/tenants")).StatusCode);
    }
}

/// <summary>
/// Issue 13: in Development, Swagger was open to any remote host; README promises local requests only. Requests from
/// another address get 404 (with or without a key), loopback ones the page.
/// </summary>
public sealed class SqliteDevelopmentSwaggerTests : IAsyncLifetime
{
    private readonly DevelopmentApi _api = new();

    private sealed class DevelopmentApi() : ApiFactory(StorageProvider.Sqlite)
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseEnvironment("Development");
        }
    }

    public Task InitializeAsync() => _api.InitializeAsync();

    public Task DisposeAsync() => _api.DisposeAsync();

    [Theory]
    [InlineData("/swagger/index.html")]
    [InlineData("/swagger/v1/swagger.json")]
    public async Task Swagger_InDevelopment_OpenToLoopbackOnly(string path)
    {
        Assert.Equal(StatusCodes.Status200OK, (await GetAsync(path, System.Net.IPAddress.Loopback, apiKey: null)).Response.StatusCode);
        Assert.Equal(StatusCodes.Status200OK, (await GetAsync(path, System.Net.IPAddress.IPv6Loopback, apiKey: null)).Response.StatusCode);
        foreach (string remote in new[] { "203.0.113.7", "10.0.0.5", "2001:db8::1" })
        {
            Assert.Equal(StatusCodes.Status404NotFound, (await GetAsync(path, System.Net.IPAddress.Parse(remote), apiKey: null)).Response.StatusCode);
            Assert.Equal(StatusCodes.Status404NotFound, (await GetAsync(path, System.Net.IPAddress.Parse(remote), ApiFactory.AdminKey)).Response.StatusCode);
        }
    }

    private Task<HttpContext> GetAsync(string path, System.Net.IPAddress remote, string? apiKey) => _api.Server.SendAsync(context =>
    {
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = path;
        context.Connection.RemoteIpAddress = remote;
        if (apiKey is not null)
        {
            context.Request.Headers["X-Api-Key"] = apiKey;
        }
    });
}

/// <summary>A configured bootstrap key that is too short stops start-up with a clear message.</summary>
public sealed class SqliteShortBootstrapKeyTests
{
    [Fact]
    public async Task ShortBootstrapKey_StartupFailsNamingTheSetting()
    {
        await using var api = new ShortKeyApi();
        await api.InitializeAsync();
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => api.Server);
        Assert.Contains("Auth:BootstrapKey", ex.Message, StringComparison.Ordinal);
    }

    private sealed class ShortKeyApi() : ApiFactory(StorageProvider.Sqlite)
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Auth:BootstrapKey", "short");
        }
    }
}
