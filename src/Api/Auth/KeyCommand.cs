namespace Api.Auth;

/// <summary>
/// <c>Api create-key --tenant NAME [--name KEYNAME] [--role Member|TenantAdmin|ServiceAdmin]</c>: creates the tenant if
/// needed and prints a new key. The older <c>--admin</c> means <c>ServiceAdmin</c> for the default tenant and
/// <c>TenantAdmin</c> for any other, as the migration to roles mapped existing admin keys.
/// </summary>
internal static class KeyCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        string? tenantName = Option(args, "--tenant") ?? Tenant.DefaultName;
        string keyName = Option(args, "--name") ?? "cli";
        var rules = new Rules();
        ApiKeyRole role = ApiKeyRole.Member;
        if (Option(args, "--role") is { } roleName)
        {
            if (!Enum.TryParse(roleName, ignoreCase: true, out role) || !Enum.IsDefined(role))
            {
                rules.Add("--role", $"must be one of {string.Join(", ", Enum.GetNames<ApiKeyRole>())} (was '{roleName}').");
            }
        }
        else if (args.Contains("--admin"))
        {
            role = tenantName == Tenant.DefaultName ? ApiKeyRole.ServiceAdmin : ApiKeyRole.TenantAdmin;
        }
        Tenant.ValidateName(rules, "--tenant", tenantName);
        if (keyName.Length is 0 or > ApiKey.MaxNameLength)
        {
            rules.Add("--name", $"must be 1 to {ApiKey.MaxNameLength} characters.");
        }
        if (rules.Errors.Count > 0)
        {
            foreach (ValidationError error in rules.Errors)
            {
                await Console.Error.WriteLineAsync($"{error.Field}: {error.Message}");
            }
            await Console.Error.WriteLineAsync("usage: Api create-key --tenant NAME [--name KEYNAME] [--role Member|TenantAdmin|ServiceAdmin]");
            return 2;
        }

        await using AsyncServiceScope scope = services.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        TimeProvider clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        Tenant? tenant = await db.Tenants.SingleOrDefaultAsync(t => t.Name == tenantName);
        if (tenant is null)
        {
            tenant = new Tenant { Id = Guid.CreateVersion7(), Name = tenantName, CreatedAt = clock.GetUtcNow().UtcDateTime };
            db.Tenants.Add(tenant);
        }
        string secret = ApiKey.NewSecret();
        db.ApiKeys.Add(ApiKey.Create(tenant.Id, keyName, secret, role, clock.GetUtcNow().UtcDateTime));
        await db.SaveChangesAsync();
        await Console.Error.WriteLineAsync($"Created a {role} key '{keyName}' of tenant '{tenant.Name}'. It is shown only now:");
        Console.WriteLine(secret);
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
