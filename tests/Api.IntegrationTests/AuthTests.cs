using System.Net.Http.Headers;
using System.Text;
using Api.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Api.IntegrationTests;

/// <summary>API keys: the admin flow for tenants and keys, revocation, the browser pages, and the bootstrap paths.</summary>
public abstract class AuthTests<TApi>(TApi api) where TApi : ApiFactory
{
    private async Task<(Guid Tenant, string Key, Guid KeyId)> NewTenantWithKeyAsync(bool admin = false)
    {
        HttpClient root = api.CreateClient();
        using HttpResponseMessage tenant = await root.PostAsJsonAsync("/api/v1/tenants", new { name = $"t-{Guid.NewGuid():N}"[..16] });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        Guid id = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using HttpResponseMessage key = await root.PostAsJsonAsync($"/api/v1/tenants/{id}/keys", new { name = "ci", isAdmin = admin });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        JsonElement body = await key.Content.ReadFromJsonAsync<JsonElement>();
        return (id, body.GetProperty("key").GetString()!, body.GetProperty("id").GetGuid());
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
    public async Task NonAdminKey_Gets403OnTenantAdministration_AdminKeyOfAnotherTenantManages()
    {
        (_, string userKey, _) = await NewTenantWithKeyAsync(admin: false);
        using HttpResponseMessage refused = await api.CreateClient(userKey).GetAsync("/api/v1/tenants");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        (_, string adminKey, _) = await NewTenantWithKeyAsync(admin: true);
        using HttpResponseMessage listed = await api.CreateClient(adminKey).GetAsync("/api/v1/tenants");
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
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

    [Fact]
    public async Task HangfireDashboard_NeedsAnAdminKey()
    {
        (_, string userKey, _) = await NewTenantWithKeyAsync(admin: false);
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
        Assert.False(me.GetProperty("isAdmin").GetBoolean());
        Assert.Equal(2, await KeyCommand.RunAsync(api.Services, ["--tenant", "Bad Name"]));
    }
}

public sealed class SqliteAuthTests(SqliteApi api) : AuthTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresAuthTests(PostgresApi api) : AuthTests<PostgresApi>(api), IClassFixture<PostgresApi>;

/// <summary>Start-up without a bootstrap key: the embedded default creates, prints and stores a local key once.</summary>
public sealed class SqliteLocalKeyBootstrapTests : IAsyncLifetime
{
    private readonly LocalKeyApi _api = new();

    private sealed class LocalKeyApi() : ApiFactory(StorageProvider.Sqlite)
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Auth:BootstrapKey", "");
        }
    }

    public Task InitializeAsync() => _api.InitializeAsync();

    public Task DisposeAsync() => _api.DisposeAsync();

    [Fact]
    public async Task FirstStart_CreatesLocalAdminKeyFile_SecondBootstrapKeepsIt()
    {
        _ = _api.Server;
        string file = Path.Combine(_api.DataDirectory, "api-key.txt");
        Assert.True(File.Exists(file));
        string key = (await File.ReadAllTextAsync(file)).Trim();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        JsonElement me = await _api.CreateClient(key).GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.True(me.GetProperty("isAdmin").GetBoolean());
        Assert.Equal(Domain.Tenants.Tenant.DefaultId, me.GetProperty("tenantId").GetGuid());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _api.CreateClient().GetAsync("/api/v1/datasets")).StatusCode);

        await _api.Services.BootstrapApiKeysAsync();
        Assert.Equal(key, (await File.ReadAllTextAsync(file)).Trim());
        Assert.Equal(1, await _api.WithDbAsync(db => db.ApiKeys.CountAsync()));
    }
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
