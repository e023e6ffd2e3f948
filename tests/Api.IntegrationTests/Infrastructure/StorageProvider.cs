namespace Api.IntegrationTests.Infrastructure;

/// <summary>The metadata store a test class runs against; test names carry it so test.sh can count per provider.</summary>
public enum StorageProvider
{
    Sqlite,
    Postgres,
}
