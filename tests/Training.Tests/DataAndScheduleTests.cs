using Training.Methods;

namespace Training.Tests;

public class DataAndScheduleTests
{
    [Fact]
    public void LabelNoise_Symmetric_FlipsAboutRateToOtherClassesUniformly()
    {
        int[] clean = Enumerable.Range(0, 20_000).Select(i => i % 5).ToArray();

        int[] noisy = LabelNoise.Apply(clean, 5, new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.3 }, seed: 4);

        int[] flipped = Enumerable.Range(0, clean.Length).Where(i => noisy[i] != clean[i]).ToArray();
        Assert.InRange(flipped.Length / (double)clean.Length, 0.29, 0.31);
        // Each of the 4 other classes gets about a quarter of class 0's flips.
        var targets = flipped.Where(i => clean[i] == 0).GroupBy(i => noisy[i]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([1, 2, 3, 4], targets.Keys.Order());
        Assert.All(targets.Values, c => Assert.InRange(c / (double)targets.Values.Sum(), 0.21, 0.29));
    }

    [Fact]
    public void LabelNoise_Pair_FlipsToNextClassOnly_AndIsSeeded()
    {
        int[] clean = Enumerable.Range(0, 5000).Select(i => i % 10).ToArray();
        var spec = new NoiseSpec { Kind = NoiseKinds.Pair, Rate = 0.45 };

        int[] noisy = LabelNoise.Apply(clean, 10, spec, seed: 1);

        Assert.All(Enumerable.Range(0, clean.Length), i => Assert.True(noisy[i] == clean[i] || noisy[i] == (clean[i] + 1) % 10));
        Assert.InRange(noisy.Where((n, i) => n != clean[i]).Count() / 5000.0, 0.42, 0.48);
        Assert.Equal(noisy, LabelNoise.Apply(clean, 10, spec, seed: 1));
        Assert.NotEqual(noisy, LabelNoise.Apply(clean, 10, spec, seed: 2));
    }

    [Fact]
    public void LearningRateSchedule_StepAndCosine_FollowTheirFormulas()
    {
        var step = new TrainingSpec { LearningRate = 0.1, Schedule = "step", StepSize = 3, Gamma = 0.5 };
        var cosine = new TrainingSpec { LearningRate = 0.1, Schedule = "cosine" };

        Assert.Equal(0.1, LearningRateSchedule.At(step, 2, 10), 12);
        Assert.Equal(0.05, LearningRateSchedule.At(step, 3, 10), 12);
        Assert.Equal(0.025, LearningRateSchedule.At(step, 7, 10), 12);
        Assert.Equal(0.1, LearningRateSchedule.At(cosine, 0, 10), 12);
        Assert.Equal(0.05, LearningRateSchedule.At(cosine, 5, 10), 12);
        Assert.Equal(0.1, LearningRateSchedule.At(new TrainingSpec { LearningRate = 0.1, Schedule = Schedules.None }, 9, 10), 12);
    }

    [Fact]
    public void OrderedDropoutSampler_LayerRank_DrawsPairsUniformlySoWiderLayersAreTruncatedMoreOften()
    {
        // Active ranks 4 and 2 give six (layer, b) pairs, each with probability 1/6. The pairs (0, 4) and (1, 2)
        // both leave the network whole, so "no truncation" has probability 2/6.
        var random = new Random(2);
        const int draws = 60_000;
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < draws; i++)
        {
            int[] ranks = OrderedDropoutSampler.Sample([4, 2], MaestroSampling.LayerRank, random);
            Assert.False(ranks[0] < 4 && ranks[1] < 2, "only one layer may be truncated per pass");
            string key = ranks[0] < 4 ? $"0:{ranks[0]}" : ranks[1] < 2 ? $"1:{ranks[1]}" : "full";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        foreach (string key in new[] { "0:1", "0:2", "0:3", "1:1" })
        {
            Assert.InRange(counts[key] / (double)draws, 1 / 6.0 - 0.01, 1 / 6.0 + 0.01);
        }
        Assert.InRange(counts["full"] / (double)draws, 2 / 6.0 - 0.01, 2 / 6.0 + 0.01);
    }

    [Fact]
    public void OrderedDropoutSampler_UniformFraction_TruncatesEveryLayerToTheSameFraction()
    {
        var random = new Random(3);
        for (int i = 0; i < 1000; i++)
        {
            int[] ranks = OrderedDropoutSampler.Sample([64, 16], MaestroSampling.UniformFraction, random);
            // ⌈f·64⌉ and ⌈f·16⌉ for one f: the wide layer's rank is within 4 of four times the narrow one's.
            Assert.InRange(ranks[0], 4 * ranks[1] - 3, 4 * ranks[1]);
        }
    }
}
