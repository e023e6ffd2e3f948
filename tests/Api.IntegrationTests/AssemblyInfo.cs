// Trainings saturate this machine's cores and Hangfire keeps some static configuration: run classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
// The response-schema ledger's test must run after every other collection has disposed its hosts.
[assembly: TestCollectionOrderer("Api.IntegrationTests.Infrastructure.LedgerLastOrderer", "Api.IntegrationTests")]
