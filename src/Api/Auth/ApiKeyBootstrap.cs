using Infrastructure.Options;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Makes sure someone can call the service after start-up: stores <see cref="AuthOptions.BootstrapKey"/>
/// (hashed) as a service-admin key of the default tenant, or, on the embedded default with no key at all,
/// creates a local service-admin key, shows it once on the console (stdout, never through the logger) and
/// writes it to the data folder. A bootstrap key that was revoked stays revoked: configure a new one.
/// </summary>
public sealed class ApiKeyBootstrap(
    AppDbContext db, IOptions<AuthOptions> auth, IOptions<StorageOptions> storage, TimeProvider clock, ILogger<ApiKeyBootstrap> logger)
{
    public const string BootstrapKeyName = "bootstrap";
    public const string LocalKeyName = "local";

    public string LocalKeyFile => Path.GetFullPath(auth.Value.LocalKeyFile ?? Path.Combine(storage.Value.DataDirectory, "api-key.txt"));

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? bootstrap = auth.Value.BootstrapKey;
        if (!string.IsNullOrEmpty(bootstrap))
        {
            await StoreBootstrapKeyAsync(bootstrap.Trim(), cancellationToken);
            return;
        }
        bool embedded = string.Equals(storage.Value.Provider, StorageProviders.Sqlite, StringComparison.OrdinalIgnoreCase);
        if (await db.ApiKeys.AnyAsync(k => k.RevokedAt == null, cancellationToken))
        {
            if (File.Exists(LocalKeyFile))
            {
                logger.LogInformation("API key: see {LocalKeyFile} (send it in the X-Api-Key header).", LocalKeyFile);
            }
            return;
        }
        if (!(auth.Value.CreateLocalKey ?? embedded))
        {
            logger.LogWarning(
                "No API key exists, so every request will get 401. Set Auth__BootstrapKey (a service-admin key of the default tenant, "
                + "16+ characters) or run `Api create-key --tenant default --role ServiceAdmin`.");
            return;
        }
        await CreateLocalKeyAsync(cancellationToken);
    }

    private async Task StoreBootstrapKeyAsync(string secret, CancellationToken cancellationToken)
    {
        if (secret.Length < ApiKey.MinimumConfiguredLength)
        {
            throw new InvalidOperationException(
                $"Auth:BootstrapKey must be at least {ApiKey.MinimumConfiguredLength} characters (was {secret.Length}); e.g. `openssl rand -base64 24`.");
        }
        string hash = ApiKey.HashOf(secret);
        ApiKey? key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Hash == hash, cancellationToken);
        if (key is null)
        {
            db.ApiKeys.Add(NewKey(BootstrapKeyName, secret));
        }
        else if (key.RevokedAt is not null)
        {
            // Someone revoked it on purpose (a leak, a handover): start-up must not bring it back.
            logger.LogWarning(
                "Auth:BootstrapKey ({Prefix}…) was revoked at {RevokedAt:u} and stays revoked; configure a new Auth:BootstrapKey "
                + "to get a service-admin key again.", ApiKey.PrefixOf(secret), key.RevokedAt);
            return;
        }
        else if (key.Role != ApiKeyRole.ServiceAdmin || key.TenantId != Tenant.DefaultId)
        {
            // The operator configured it, so it is honoured as documented: a service-admin key of the default tenant.
            key.Role = ApiKeyRole.ServiceAdmin;
            key.TenantId = Tenant.DefaultId;
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (key is null)
        {
            // Another replica stored it at the same moment.
            db.ChangeTracker.Clear();
        }
        logger.LogInformation("Bootstrap API key (service admin of tenant '{Tenant}') is active: {Prefix}…", Tenant.DefaultName, ApiKey.PrefixOf(secret));
    }

    private async Task CreateLocalKeyAsync(CancellationToken cancellationToken)
    {
        string path = LocalKeyFile;
        // A key file without its row (e.g. the database was deleted): reuse the key the user already has.
        string? existing = File.Exists(path) && (await File.ReadAllTextAsync(path, cancellationToken)).Trim() is { Length: >= ApiKey.MinimumConfiguredLength } found
            ? found
            : null;
        string secret = existing ?? ApiKey.NewSecret();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, secret + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temp, path, overwrite: true);
        db.ApiKeys.Add(NewKey(LocalKeyName, secret));
        await db.SaveChangesAsync(cancellationToken);
        if (existing is not null)
        {
            logger.LogWarning("Stored the local API key again from {Path} (service admin of tenant '{Tenant}', {Prefix}…).",
                path, Tenant.DefaultName, ApiKey.PrefixOf(secret));
            return;
        }
        // The secret goes to the console once, past the logger: log sinks (files, collectors) must never hold it.
        logger.LogWarning("Created a local API key (service admin of tenant '{Tenant}', {Prefix}…) and saved it in {Path}; "
            + "it is shown once on standard output.", Tenant.DefaultName, ApiKey.PrefixOf(secret), path);
        await Console.Out.WriteLineAsync(
            $"Local API key (service admin of tenant '{Tenant.DefaultName}'), shown only now and saved in {path}:\n  {secret}\n"
            + $"Send it in the X-Api-Key header, e.g. curl -H \"X-Api-Key: $(cat {path})\" http://localhost:5000/api/v1/datasets");
        await Console.Out.FlushAsync(cancellationToken);
    }

    private ApiKey NewKey(string name, string secret) =>
        ApiKey.Create(Tenant.DefaultId, name, secret, ApiKeyRole.ServiceAdmin, clock.GetUtcNow().UtcDateTime);
}
