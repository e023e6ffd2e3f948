using Domain.Variants;

namespace Domain.UnitTests;

public class VariantSelectorTests
{
    private static VariantCandidate V(double fraction, double accuracy, long parameters, double latency) =>
        new(fraction, accuracy, parameters, parameters * 2, latency, Measured: true);

    /// <summary>Random candidate sets: accuracy and latency loosely increase with size, with noise and ties.</summary>
    private static List<VariantCandidate> RandomCandidates(Random random)
    {
        int count = random.Next(1, 12);
        var list = new List<VariantCandidate>();
        for (int i = 0; i < count; i++)
        {
            long parameters = random.Next(1, 6) * 1000L;
            double accuracy = Math.Round(Math.Min(1, parameters / 6000.0 + random.NextDouble() * 0.2), 2);
            double latency = Math.Round(parameters / 1000.0 + random.NextDouble() * 2, 1);
            list.Add(V((i + 1) / (double)count, accuracy, parameters, latency));
        }
        return list;
    }

    [Fact]
    public void Select_PicksMostAccurateWithinBudget_TiesToFewerParameters()
    {
        VariantCandidate[] candidates = [V(0.25, 0.80, 1000, 1.0), V(0.5, 0.90, 3000, 2.0), V(0.75, 0.90, 2000, 2.5), V(1, 0.95, 4000, 4.0)];

        Assert.Equal(0.25, VariantSelector.Select(candidates, 1.5)!.RankFraction);
        Assert.Equal(0.75, VariantSelector.Select(candidates, 3.0)!.RankFraction);
        Assert.Equal(1, VariantSelector.Select(candidates, 10)!.RankFraction);
        Assert.Null(VariantSelector.Select(candidates, 0.5));
    }

    [Fact]
    public void Select_RandomSets_NeverExceedsBudgetAndIsMonotoneInBudget()
    {
        var random = new Random(42);
        for (int trial = 0; trial < 500; trial++)
        {
            List<VariantCandidate> candidates = RandomCandidates(random);
            double previousAccuracy = double.NegativeInfinity;
            for (double budget = 0; budget <= 8; budget += 0.25)
            {
                VariantCandidate? chosen = VariantSelector.Select(candidates, budget);
                bool anyFits = candidates.Any(c => c.LatencyMs <= budget);
                Assert.Equal(anyFits, chosen is not null);
                if (chosen is null)
                {
                    continue;
                }
                Assert.True(chosen.LatencyMs <= budget);
                Assert.Equal(candidates.Where(c => c.LatencyMs <= budget).Max(c => c.Accuracy), chosen.Accuracy);
                Assert.True(chosen.Accuracy >= previousAccuracy, $"accuracy fell from {previousAccuracy} to {chosen.Accuracy} at budget {budget}");
                previousAccuracy = chosen.Accuracy;
            }
        }
    }

    [Fact]
    public void Select_RandomSets_AlwaysReturnsAFrontierMember()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 500; trial++)
        {
            List<VariantCandidate> candidates = RandomCandidates(random);
            IReadOnlyList<VariantCandidate> frontier = VariantSelector.Frontier(candidates);
            double budget = random.NextDouble() * 8;

            VariantCandidate? chosen = VariantSelector.Select(candidates, budget);

            if (chosen is not null)
            {
                Assert.Contains(chosen, frontier);
            }
        }
    }

    [Fact]
    public void Select_AccuracyTieBetweenFasterLargerAndSlowerSmaller_PicksSmallerWhichIsOnFrontier()
    {
        VariantCandidate faster = V(0.5, 0.90, 3000, 2.0);
        VariantCandidate smaller = V(0.75, 0.90, 2000, 2.5);

        VariantCandidate? chosen = VariantSelector.Select([faster, smaller], 3.0);

        Assert.Same(smaller, chosen);
        Assert.Contains(smaller, VariantSelector.Frontier([faster, smaller]));
    }

    [Fact]
    public void Frontier_RandomSets_IsExactlyTheSetOfChoicesSortedAndUndominated()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 500; trial++)
        {
            List<VariantCandidate> candidates = RandomCandidates(random);

            IReadOnlyList<VariantCandidate> frontier = VariantSelector.Frontier(candidates);

            for (int i = 1; i < frontier.Count; i++)
            {
                Assert.True(frontier[i].LatencyMs >= frontier[i - 1].LatencyMs);
                Assert.True(frontier[i].Accuracy >= frontier[i - 1].Accuracy);
            }
            // No candidate is at least as fast and strictly more accurate than a frontier member.
            Assert.All(frontier, f => Assert.DoesNotContain(candidates, c => c.LatencyMs <= f.LatencyMs && c.Accuracy > f.Accuracy));
            // Every budget's choice is on it, and everything on it is some budget's choice.
            Assert.All(candidates.Select(c => VariantSelector.Select(candidates, c.LatencyMs)!), chosen => Assert.Contains(chosen, frontier));
            Assert.All(frontier, f => Assert.Equal(f, VariantSelector.Select(candidates, f.LatencyMs)));
        }
    }

    [Fact]
    public void Frontier_SlowerLessAccurateButSmaller_IsLeftOut()
    {
        VariantCandidate fast = V(0.25, 0.67, 24000, 0.0043);
        VariantCandidate tiny = V(0.0625, 0.32, 7000, 0.0046);

        Assert.Equal([fast], VariantSelector.Frontier([fast, tiny]));
    }

    [Fact]
    public void Fit_LinearMeasurements_RecoversFixedCostAndSlope()
    {
        LatencyModel model = LatencyModel.Fit([(1_000_000, 1.5), (2_000_000, 2.5), (4_000_000, 4.5)])!;

        Assert.Equal(0.5, model.FixedMs, 6);
        Assert.Equal(1e-6, model.MsPerFlop, 12);
        Assert.Equal(3.0, model.EstimateMs(2_500_000), 6);
    }

    [Fact]
    public void Fit_OneMeasurement_ScalesThroughOrigin_NoneGivesNull()
    {
        Assert.Equal(2.0, LatencyModel.Fit([(1000, 1.0)])!.EstimateMs(2000), 9);
        Assert.Null(LatencyModel.Fit([]));
    }

    [Fact]
    public void Fit_NoisyDecreasingMeasurements_NeverPredictsLessTimeForMoreWork()
    {
        LatencyModel model = LatencyModel.Fit([(1000, 3.0), (2000, 2.0), (3000, 1.0)])!;

        Assert.True(model.EstimateMs(3000) >= model.EstimateMs(1000));
    }
}
