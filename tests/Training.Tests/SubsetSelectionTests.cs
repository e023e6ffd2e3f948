using Training.Methods;

namespace Training.Tests;

/// <summary>Facility location and its lazy greedy (INGENIOUS, Renduchintala et al. 2023), and the subset part in a run.</summary>
public class SubsetSelectionTests
{
    /// <summary>(1 + cos)/2 between random points, row-major m × m.</summary>
    private static float[] RandomSimilarity(int m, int dims, int seed)
    {
        var random = new Random(seed);
        double[][] points = Enumerable.Range(0, m).Select(_ => Enumerable.Range(0, dims).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var similarity = new float[m * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double dot = points[i].Zip(points[j], (a, b) => a * b).Sum();
                double cos = dot / Math.Sqrt(points[i].Sum(a => a * a) * points[j].Sum(b => b * b));
                similarity[i * m + j] = (float)((1 + cos) / 2);
            }
        }
        return similarity;
    }

    [Theory]
    [InlineData(30, 1, 11)]
    [InlineData(30, 7, 12)]
    [InlineData(50, 20, 13)]
    [InlineData(12, 12, 14)]
    public void LazyGreedy_SmallInstance_PicksTheSameSetInTheSameOrderAsPlainGreedy(int m, int budget, int seed)
    {
        float[] similarity = RandomSimilarity(m, dims: 4, seed);

        int[] plain = FacilityLocation.Greedy(similarity, m, budget);
        int[] lazy = FacilityLocation.LazyGreedy(similarity, m, budget);

        Assert.Equal(plain, lazy);
        Assert.Equal(budget, lazy.Distinct().Count());
    }

    [Fact]
    public void Objective_OfTheGreedySet_GrowsWithTheBudget()
    {
        const int m = 40;
        float[] similarity = RandomSimilarity(m, dims: 5, seed: 3);

        double[] values = Enumerable.Range(0, m + 1)
            .Select(k => FacilityLocation.Objective(similarity, m, FacilityLocation.LazyGreedy(similarity, m, k))).ToArray();

        for (int k = 1; k <= m; k++)
        {
            Assert.True(values[k] >= values[k - 1], $"F at budget {k} ({values[k]}) is below F at {k - 1} ({values[k - 1]}).");
        }
        // Every point covers itself at similarity 1 once all are chosen.
        Assert.Equal(m, values[m], 4);
    }

    [Fact]
    public void LazyGreedy_HandComputedCase_PicksTheCentreThenTheOutlier()
    {
        // Gains from empty coverage: point 0: 1 + .9 + .1 = 2.0; point 1: .9 + 1 + .2 = 2.1; point 2: .1 + .2 + 1 = 1.3 → 1.
        // Coverage (.9, 1, .2); gains: point 0: .1; point 2: .8 → 2. F({1, 2}) = .9 + 1 + 1 = 2.9.
        float[] similarity =
        [
            1.0f, 0.9f, 0.1f,
            0.9f, 1.0f, 0.2f,
            0.1f, 0.2f, 1.0f,
        ];

        int[] one = FacilityLocation.LazyGreedy(similarity, 3, 1);
        int[] two = FacilityLocation.LazyGreedy(similarity, 3, 2);

        Assert.Equal(new[] { 1 }, one);
        Assert.Equal(new[] { 1, 2 }, two);
        Assert.Equal(2.1, FacilityLocation.Objective(similarity, 3, one), 5);
        Assert.Equal(2.9, FacilityLocation.Objective(similarity, 3, two), 5);
    }

    [Theory]
    [InlineData(new[] { 5, 3, 2 }, 4, new[] { 2, 1, 1 })]
    [InlineData(new[] { 1, 1, 1 }, 2, new[] { 1, 1, 0 })]
    [InlineData(new[] { 10, 0, 10 }, 20, new[] { 10, 0, 10 })]
    [InlineData(new[] { 7 }, 3, new[] { 3 })]
    public void Apportion_LargestRemainder_SumsToTheTotal(int[] sizes, int total, int[] expected)
    {
        int[] shares = FacilityLocation.Apportion(sizes, total);

        Assert.Equal(expected, shares);
        Assert.Equal(total, shares.Sum());
    }

    [Theory]
    [InlineData(103, 5, 31, 4)]
    [InlineData(1000, 8, 300, 10)]
    [InlineData(57, 1, 57, 3)]
    [InlineData(20, 3, 1, 2)]
    public void Groups_PerPartitionAndClass_BudgetsSumToTheTotalAndFollowSizes(int n, int partitions, int budget, int classes)
    {
        var random = new Random(5);
        long[] labels = Enumerable.Range(0, n).Select(_ => (long)random.Next(classes)).ToArray();

        var groups = FacilityLocation.Groups(labels, partitions, budget, new Random(9));

        Assert.Equal(budget, groups.Sum(g => g.Budget));
        Assert.Equal(Enumerable.Range(0, n), groups.SelectMany(g => g.Members).Order());
        Assert.All(groups, g =>
        {
            Assert.InRange(g.Budget, 0, g.Members.Length);
            Assert.Single(g.Members.Select(i => labels[i]).Distinct());
            // Proportional: within one sample of fraction × size (largest remainder on two levels).
            Assert.InRange(g.Budget, Math.Floor((double)budget / n * g.Members.Length) - 1, Math.Ceiling((double)budget / n * g.Members.Length) + 1);
        });
    }

    [Fact]
    public void Run_WithSubset_WarmStartsOnAllData_TrainsOnTheFraction_AndReportsSelectionTime()
    {
        // Arrange: 400 samples, no validation split (last-epoch model selection); warm start 1, reselect every 2.
        var (train, test) = Builders.Blobs(train: 400, test: 100);
        JobSpec spec = Builders.Spec(epochs: 4) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = false },
            Training = new TrainingSpec { Epochs = 4, BatchSize = 16, LearningRate = 1e-2, Seed = 1, Optimizer = Optimizers.Adam },
            Subset = new SubsetSpec { Fraction = 0.3, Partitions = 2, ReselectEvery = 2, WarmStartEpochs = 1 },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        TrainingOutcome outcome = Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert
        Assert.Equal(new[] { 400.0, 120, 120, 120 }, observer.Reports.Select(r => r.Extra["subsetSize"]));
        double[] selection = observer.Reports.Select(r => r.Extra["selectionSeconds"]).ToArray();
        Assert.Equal(0, selection[0]);
        Assert.True(selection[1] > 0);
        Assert.Equal(0, selection[2]);
        Assert.True(selection[3] > 0);
        Assert.True(outcome.TestAccuracy > 0.8, $"test accuracy {outcome.TestAccuracy}; " + string.Join(" | ", observer.Reports.Select(Builders.Metrics)));
    }

    [Fact]
    public void Run_CoTeachingOnASubset_SelectsWithinTheSubsetsBatches()
    {
        // Arrange: co-teaching keeps (1 − τ) of each batch; the batches hold only the subset's samples.
        var (train, test) = Builders.Blobs(train: 400, test: 100);
        JobSpec spec = Builders.Spec(epochs: 3) with
        {
            Model = new ModelSpec { Hidden = [32, 16], LowRank = false },
            Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 },
            CoTeaching = new CoTeachingSpec { GradualEpochs = 1 },
            Subset = new SubsetSpec { Fraction = 0.5, ReselectEvery = 1 },
            Training = new TrainingSpec { Epochs = 3, BatchSize = 32, LearningRate = 3e-3, Seed = 1, ModelSelection = ModelSelections.Last },
        };
        var observer = new Builders.RecordingObserver();

        // Act
        Builders.Engine().Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);

        // Assert: half of the 400 samples after the warm start, and co-teaching's precision is reported on them.
        Assert.Equal(new[] { 400.0, 200, 200 }, observer.Reports.Select(r => r.Extra["subsetSize"]));
        Assert.All(observer.Reports, r => Assert.NotNull(r.LabelPrecision));
    }
}
