using Training.Export;
using Training.Export.Onnx;
using Training.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Training.Tests.Export;

public class VariantExporterTests(ExportModels models) : IClassFixture<ExportModels>
{
    public static TheoryData<double> Fractions => [0.25, 0.5, 1.0];

    [Theory]
    [MemberData(nameof(Fractions))]
    public void Export_Mlp_OnnxParsesBackWithPinnedVersionsAndShapes(double fraction)
    {
        // Act
        VariantExport export = VariantExporter.Export(new MemoryStream(models.Mlp), fraction);
        ModelProto onnx = ModelProto.Parser.ParseFrom(export.Onnx);

        // Assert
        Assert.Equal(8, onnx.IrVersion);
        OperatorSetIdProto opset = Assert.Single(onnx.OpsetImport);
        Assert.Equal(("", 17L), (opset.Domain, opset.Version));
        ValueInfoProto input = Assert.Single(onnx.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([16L], input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        ValueInfoProto output = Assert.Single(onnx.Graph.Output);
        Assert.Equal("logits", output.Name);
        Assert.Equal([4L], output.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        Assert.All(onnx.Graph.Node, n => Assert.Contains(n.OpType, new[] { "Gemm", "Relu" }));
        Assert.Equal(export.OnnxParameters, onnx.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b)));
        Assert.All(onnx.Graph.Initializer, t => Assert.Equal(t.Dims.Aggregate(4L, (a, b) => a * b), t.RawData.Length));
    }

    [Theory]
    [MemberData(nameof(Fractions))]
    public void Export_Cnn_OnnxHasConvolutionsPoolingAndFlatten(double fraction)
    {
        // Act
        VariantExport export = VariantExporter.Export(new MemoryStream(models.Cnn), fraction);
        ModelProto onnx = ModelProto.Parser.ParseFrom(export.Onnx);

        // Assert
        Assert.Equal([1, 16, 16], export.InputShape);
        Assert.Equal([1L, 16, 16], onnx.Graph.Input[0].Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        Assert.Equal(2, onnx.Graph.Node.Count(n => n.OpType == "MaxPool"));
        Assert.Single(onnx.Graph.Node, n => n.OpType == "Flatten");
        int convolutions = export.LayerForms.Take(2).Sum(f => f == LayerForm.Factored ? 2 : 1);
        Assert.Equal(convolutions, onnx.Graph.Node.Count(n => n.OpType == "Conv"));
        Assert.Equal("logits", onnx.Graph.Node[^1].Output.Single());
    }

    [Fact]
    public void Export_AtSeveralFractions_ChoosesEachLayersFormByTheRankRule()
    {
        // Arrange: layer shapes as (fan-in, fan-out); a conv's fan-in is in·k².
        var cases = new[] { (models.Mlp, new[] { (16L, 32L), (32L, 16L) }), (models.Cnn, new[] { (25L, 4L), (100L, 6L), (6L, 16L) }) };
        var seen = new HashSet<string>();
        foreach (var (model, shapes) in cases)
        {
            foreach (double fraction in new[] { 0.1, 0.25, 0.5, 0.75, 1.0 })
            {
                // Act
                VariantExport export = VariantExporter.Export(new MemoryStream(model), fraction);

                // Assert
                for (int i = 0; i < shapes.Length; i++)
                {
                    var (fanIn, fanOut) = shapes[i];
                    string expected = export.Ranks[i] * (fanIn + fanOut) < fanIn * fanOut ? "factored" : "dense";
                    Assert.Equal(expected, export.LayerForms[i]);
                    seen.Add(export.LayerForms[i]);
                }
            }
        }
        Assert.Equal(["dense", "factored"], seen.Order());
    }

    [Fact]
    public void Export_AtTheSweepsFractions_MatchesRankPointsRanksParametersAndFlops()
    {
        foreach (var (model, curve) in new[] { (models.Mlp, models.MlpCurve), (models.Cnn, models.CnnCurve) })
        {
            foreach (RankPoint point in curve)
            {
                // Act
                VariantExport export = VariantExporter.Export(new MemoryStream(model), point.RankFraction);

                // Assert
                Assert.Equal(point.Ranks, export.Ranks);
                Assert.Equal(point.Parameters, export.Parameters);
                Assert.Equal(point.Flops, export.Flops);
                Assert.Equal(point.RankFraction, export.RankFraction);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fractions))]
    public void Export_TorchSharpWeights_ReloadAndEqualTheTruncatedOriginalExactly(double fraction)
    {
        foreach (var (model, test) in new[] { (models.Mlp, models.MlpTest), (models.Cnn, models.CnnTest), (models.MlpWithFeatureTruncation(5), models.MlpTest) })
        {
            // Arrange
            using var scope = NewDisposeScope();
            using ClassifierNetwork original = ModelFile.Read(new MemoryStream(model));
            original.eval();
            Tensor x = Builders.Tensor(test);

            // Act
            VariantExport export = VariantExporter.Export(new MemoryStream(model), fraction);
            using ClassifierNetwork reloaded = ModelFile.Read(new MemoryStream(export.TorchSharp));
            reloaded.eval();
            original.SetTruncation(export.Ranks);
            using var noGrad = no_grad();
            Tensor expected = original.call(x);
            Tensor actual = reloaded.call(x);

            // Assert
            Assert.Equal(export.Ranks, reloaded.Factorized.Select(l => l.ActiveRank));
            Assert.Equal(original.FeatureTruncation, reloaded.FeatureTruncation);
            Assert.Equal(export.Parameters, reloaded.ParameterCount());
            Assert.True(expected.eq(actual).all().item<bool>(), $"max abs difference {(expected - actual).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void Export_WithFeatureTruncation_MultipliesByTheNestedDropoutMask()
    {
        // Act
        VariantExport export = VariantExporter.Export(new MemoryStream(models.MlpWithFeatureTruncation(5)), 0.5);
        ModelProto onnx = ModelProto.Parser.ParseFrom(export.Onnx);

        // Assert
        NodeProto mul = Assert.Single(onnx.Graph.Node, n => n.OpType == "Mul");
        TensorProto mask = onnx.Graph.Initializer.Single(t => t.Name == mul.Input[1]);
        float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(mask.RawData.Span).ToArray();
        Assert.Equal([1f, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], values);
    }

    [Fact]
    public void Export_DenseBaseline_IsFactorisedBySvdLikeTheSweep()
    {
        // Arrange
        torch.manual_seed(3);
        using ClassifierNetwork dense = ClassifierNetwork.Create(new ModelSpec { Hidden = [32, 16], LowRank = false }, [16], 4);
        using var file = new MemoryStream();
        ModelFile.Write(file, dense);
        using ClassifierNetwork factorized = dense.ToFactorized();

        // Act
        VariantExport export = VariantExporter.Export(new MemoryStream(file.ToArray()), 0.5);

        // Assert
        Assert.Equal([8, 8], export.Ranks);
        Assert.Equal(factorized.ParameterCount([8, 8]), export.Parameters);
        Assert.Equal(["factored", "factored"], export.LayerForms);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Export_FractionOutsideZeroToOne_Throws(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => VariantExporter.Export(new MemoryStream(models.Mlp), fraction));

    [Fact]
    public void Export_NotAModelFile_ThrowsInvalidData() =>
        Assert.Throws<InvalidDataException>(() => VariantExporter.Export(new MemoryStream([1, 2, 3, 4]), 0.5));
}
