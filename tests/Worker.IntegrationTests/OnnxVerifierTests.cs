using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Training.Export.Onnx;

namespace Worker.IntegrationTests;

public class OnnxVerifierTests(TrainedModels models) : IClassFixture<TrainedModels>
{
    public static TheoryData<string, double> Cases => new()
    {
        { "mlp", 0.25 }, { "mlp", 0.5 }, { "mlp", 1.0 },
        { "cnn", 0.25 }, { "cnn", 0.5 }, { "cnn", 1.0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Verify_ExportAtFraction_OnnxRuntimeMatchesTorchSharpWithinTolerance(string model, double fraction)
    {
        // Arrange
        var (file, _, test) = models.Get(model);
        VariantExport export = VariantExporter.Export(new MemoryStream(file), fraction);

        // Act
        double difference = OnnxVerifier.Verify(export, test.Features, test.Count);

        // Assert
        Assert.InRange(difference, 0, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntime_ExportAtSweepFraction_ReproducesTheSweepsAccuracy(string model, double fraction)
    {
        // Arrange
        var (file, curve, test) = models.Get(model);
        RankPoint point = curve.Single(p => p.RankFraction == fraction);
        VariantExport export = VariantExporter.Export(new MemoryStream(file), fraction);
        using var session = new InferenceSession(export.Onnx);
        long[] shape = [test.Count, .. export.InputShape.Select(d => (long)d)];
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(test.Features, shape);

        // Act
        using var outputs = session.Run(new RunOptions(), ["input"], [input], ["logits"]);
        float[] logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        int classes = logits.Length / test.Count;
        int correct = Enumerable.Range(0, test.Count)
            .Count(i => Array.IndexOf(logits, logits.Skip(i * classes).Take(classes).Max(), i * classes, classes) - i * classes == test.Labels[i]);

        // Assert: at most one held-out sample may flip on a float32 near-tie between the two runtimes.
        Assert.InRange((double)correct / test.Count, point.Accuracy - 1.0 / test.Count, point.Accuracy + 1.0 / test.Count);
    }

    [Fact]
    public void Verify_ExportWithNestedDropoutMask_Matches()
    {
        // Arrange
        VariantExport export = VariantExporter.Export(new MemoryStream(models.MlpWithFeatureTruncation(5)), 0.5);

        // Act
        double difference = OnnxVerifier.Verify(export, models.MlpTest.Features, models.MlpTest.Count);

        // Assert
        Assert.InRange(difference, 0, 1e-4);
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public void Verify_TamperedOnnxWeight_Throws(string model)
    {
        // Arrange: nudge one weight of the first body layer in the ONNX file only.
        var (file, _, test) = models.Get(model);
        VariantExport export = VariantExporter.Export(new MemoryStream(file), 0.5);
        ModelProto onnx = ModelProto.Parser.ParseFrom(export.Onnx);
        TensorProto weight = onnx.Graph.Initializer.First(t => t.Name.StartsWith("body.0.", StringComparison.Ordinal) && !t.Name.EndsWith("bias", StringComparison.Ordinal));
        float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray();
        values[0] += 0.5f;
        weight.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        VariantExport tampered = export with { Onnx = onnx.ToByteArray() };

        // Act
        var error = Assert.Throws<InvalidOperationException>(() => OnnxVerifier.Verify(tampered, test.Features, test.Count));

        // Assert
        Assert.Contains("differs from TorchSharp", error.Message);
    }

    [Fact]
    public void Verify_WrongInputCount_ThrowsArgumentException()
    {
        VariantExport export = VariantExporter.Export(new MemoryStream(models.Mlp), 0.5);

        Assert.Throws<ArgumentException>(() => OnnxVerifier.Verify(export, new float[15], 1));
    }
}
