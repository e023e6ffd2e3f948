namespace Api.Auth;

/// <summary>Section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>
    /// A service-admin key of the default tenant, given by the operator (<c>Auth__BootstrapKey</c>); at least 16
    /// characters. It is stored hashed at start-up; once revoked it stays revoked (configure a new one).
    /// </summary>
    public string? BootstrapKey { get; set; }

    /// <summary>
    /// Without a bootstrap key and with no key in the database, create a service-admin key of the default tenant on
    /// first start, show it once on stdout and write it to <see cref="LocalKeyFile"/>. Default: on for the embedded
    /// default (SQLite), off for PostgreSQL.
    /// </summary>
    public bool? CreateLocalKey { get; set; }

    /// <summary>Where the local key is written; default <c>{Storage:DataDirectory}/api-key.txt</c>.</summary>
    public string? LocalKeyFile { get; set; }

    /// <summary>How long a verified key is remembered in memory; a revocation reaches other Api replicas within it.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
}
