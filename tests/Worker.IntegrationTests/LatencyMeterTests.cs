namespace Worker.IntegrationTests;

/// <summary>Latency plumbing only: numbers must be well formed. Speed is for benchmarks, never asserted here.</summary>
public class LatencyMeterTests(TrainedModels models) : IClassFixture<TrainedModels>
{
    [Theory]
    [InlineData("mlp", 1)]
    [InlineData("mlp", 8)]
    [InlineData("cnn", 4)]
    public void MeasureOnnxCpu_Export_ReturnsFinitePositiveMedianNotAboveP90(string model, int batch)
    {
        // Arrange
        var (file, _, test) = models.Get(model);
        VariantExport export = VariantExporter.Export(new MemoryStream(file), 0.5);

        // Act
        LatencyResult result = LatencyMeter.MeasureOnnxCpu(export.Onnx, test.SampleShape, batch, threads: 1, warmup: 2, minRuns: 20);

        // Assert
        Assert.Equal(batch, result.Batch);
        Assert.Equal(1, result.Threads);
        Assert.True(result.Runs >= 20);
        Assert.True(double.IsFinite(result.MedianMs) && result.MedianMs > 0, $"median {result.MedianMs}");
        Assert.True(double.IsFinite(result.P90Ms) && result.P90Ms >= result.MedianMs, $"median {result.MedianMs}, p90 {result.P90Ms}");
        Assert.StartsWith("onnxruntime ", result.Runtime);
    }

    [Fact]
    public void MeasureOnnxCpu_SampleShapeOfAnotherSize_ThrowsArgumentException()
    {
        VariantExport export = VariantExporter.Export(new MemoryStream(models.Mlp), 0.5);

        Assert.Throws<ArgumentException>(() => LatencyMeter.MeasureOnnxCpu(export.Onnx, [4, 5], 1, 1));
    }

    [Fact]
    public void MeasureTorchCuda_Export_IsNullWithoutCudaElseWellFormed()
    {
        // Arrange
        VariantExport export = VariantExporter.Export(new MemoryStream(models.Mlp), 0.5);

        // Act
        LatencyResult? result = LatencyMeter.MeasureTorchCuda(export.TorchSharp, [16], 4, warmup: 2, minRuns: 20);

        // Assert
        if (!TorchSharp.torch.cuda.is_available())
        {
            Assert.Null(result);
            return;
        }
        Assert.NotNull(result);
        Assert.True(double.IsFinite(result.MedianMs) && result.MedianMs > 0 && result.P90Ms >= result.MedianMs);
    }

    [Fact]
    public void HostProfileDescribe_ThisHost_GivesAStableNonEmptyCpuProfile()
    {
        // Act
        HostDescription host = HostProfile.Describe(threads: 2);

        // Assert
        Assert.Matches("^cpu-[a-z0-9-]+-2t$", host.ProfileName);
        Assert.False(string.IsNullOrWhiteSpace(host.CpuModel));
        Assert.InRange(host.Cores, 1, Environment.ProcessorCount);
        Assert.Equal(2, host.Threads);
        Assert.Equal(host.ProfileName, HostProfile.Describe(threads: 2).ProfileName);
    }

    [Theory]
    [InlineData("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "intel-xeon-platinum-8375c")]
    [InlineData("AMD EPYC 7B13 64-Core Processor", "amd-epyc-7b13-64-core")]
    [InlineData("NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3")]
    [InlineData("(R)", "unknown")]
    public void HostProfileSlug_ModelNames_AreLowerCaseHyphenated(string model, string slug) =>
        Assert.Equal(slug, HostProfile.Slug(model));
}
