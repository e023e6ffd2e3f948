namespace Api.IntegrationTests.Infrastructure;

public sealed class SqliteApi() : ApiFactory(StorageProvider.Sqlite);

public sealed class PostgresApi() : ApiFactory(StorageProvider.Postgres);
