using System.Collections.Concurrent;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// What every disposed <see cref="ApiFactory"/> found when it checked its REST responses against swagger.json. xUnit
/// reports a fixture's dispose failure without failing the run, so <see cref="ResponseSchemaLedgerTests"/> (ordered
/// last by <see cref="LedgerLastOrderer"/>) turns these into a failed test.
/// </summary>
public static class ResponseSchemaLedger
{
    public const string Collection = "Response schema ledger (runs last)";

    private static readonly ConcurrentQueue<string> s_mismatches = new();
    private static int s_hosts;
    private static int s_responses;

    public static IReadOnlyCollection<string> Mismatches => s_mismatches;

    public static int Hosts => s_hosts;

    public static int Responses => s_responses;

    public static void Add(string host, int responses, IReadOnlyList<string> mismatches)
    {
        Interlocked.Increment(ref s_hosts);
        Interlocked.Add(ref s_responses, responses);
        foreach (string mismatch in mismatches)
        {
            s_mismatches.Enqueue($"{host}: {mismatch}");
        }
    }
}

/// <summary>Keeps xUnit's default collection order and moves <see cref="ResponseSchemaLedger.Collection"/> to the end.</summary>
public sealed class LedgerLastOrderer : ITestCollectionOrderer
{
    private readonly DefaultTestCollectionOrderer _default = new();

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        _default.OrderTestCollections(testCollections).OrderBy(c => c.DisplayName == ResponseSchemaLedger.Collection);
}
