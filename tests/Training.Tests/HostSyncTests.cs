using System.Text.RegularExpressions;
using Training.Methods;
using static TorchSharp.torch;

namespace Training.Tests;

public class HostSyncTests
{
    [Fact]
    public void Scalar_InsideAStep_Throws()
    {
        using Tensor value = ones(1);
        using (HostSync.Step())
        {
            Assert.Throws<InvalidOperationException>(() => HostSync.Scalar(value));
        }
        Assert.Equal(1, HostSync.Scalar(value));
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("maestro")]
    [InlineData("coteaching-plus")]
    [InlineData("nested")]
    [InlineData("coteaching-msd")]
    [InlineData("elr")]
    [InlineData("coteaching-compander")]
    [InlineData("subset")]
    [InlineData("coteaching-subset")]
    public void Run_HostReadsPerEpoch_DoNotGrowWithTheNumberOfSteps(string method)
    {
        // Arrange: the same run with 4× the batches per epoch. A read inside the step loop would either throw
        // (the guard) or, if it bypassed HostSync, show up here as reads growing with the number of steps.
        var (train, test) = Builders.Blobs(train: 320, test: 50);
        JobSpec spec = Builders.Spec(epochs: 2) with { Training = new TrainingSpec { Epochs = 2, BatchSize = 80, ModelSelection = ModelSelections.Last } };
        spec = method switch
        {
            "standard" => spec with { Model = new ModelSpec { Hidden = [32, 16], LowRank = false } },
            "coteaching-plus" => spec with { Noise = new NoiseSpec { Kind = NoiseKinds.Pair, Rate = 0.2 }, CoTeaching = new CoTeachingSpec { Plus = true, PlusStartEpoch = 0, GradualEpochs = 1 } },
            "nested" => spec with { Model = new ModelSpec { Hidden = [32, 16], LowRank = false }, NestedDropout = new NestedDropoutSpec { Sigma = 4 } },
            "coteaching-msd" => spec with { Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 }, CoTeaching = new CoTeachingSpec { GradualEpochs = 1 }, MultiSampleDropout = new MultiSampleDropoutSpec() },
            "coteaching-compander" => spec with { Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 }, CoTeaching = new CoTeachingSpec { GradualEpochs = 1 }, Compander = new CompanderSpec() },
            "elr" => spec with { Model = new ModelSpec { Hidden = [32, 16], LowRank = false }, Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 }, Elr = new ElrSpec() },
            "subset" => spec with { Model = new ModelSpec { Hidden = [32, 16], LowRank = false }, Subset = new SubsetSpec { Fraction = 0.5, Partitions = 2, ReselectEvery = 1 } },
            "coteaching-subset" => spec with
            {
                Noise = new NoiseSpec { Kind = NoiseKinds.Symmetric, Rate = 0.2 },
                CoTeaching = new CoTeachingSpec { GradualEpochs = 1 },
                Subset = new SubsetSpec { Fraction = 0.5, ReselectEvery = 1 },
            },
            _ => spec,
        };

        // Act
        long few = Reads(spec, train, test);
        long many = Reads(spec with { Training = spec.Training with { BatchSize = 20 } }, train, test);

        // Assert
        Assert.Equal(few, many);
    }

    private static long Reads(JobSpec spec, LabeledData train, LabeledData test)
    {
        long before = HostSync.Reads;
        Builders.Engine().Run(new TrainingRequest(spec, train, test), new Builders.RecordingObserver(), null, CancellationToken.None);
        return HostSync.Reads - before;
    }

    [Fact]
    public void TrainingSources_ReadTensorsOnlyThroughHostSync()
    {
        // Export and checkpoint code run outside training steps; everything else must go through HostSync.
        string root = Path.Combine(Repository.Root, "src", "Training");
        var allowed = new[] { "HostSync.cs", "Checkpoint.cs", "OnnxGraphBuilder.cs" };
        var forbidden = new Regex(@"\.(item|data)<|\.cpu\(\)|\.nonzero\(|\.tolist\(|\.ToArray<", RegexOptions.Compiled);
        var offenders = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !allowed.Contains(Path.GetFileName(f)))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => forbidden.IsMatch(x.line) && !x.line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            .Select(x => $"{Path.GetRelativePath(root, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.Empty(offenders);
    }
}

internal static class Repository
{
    /// <summary>The repository root: the nearest folder above the test binaries that holds Service.sln.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Service.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException("Service.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
