using Google.Protobuf;
using Training.Engine;
using Training.Export.Onnx;
using Training.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Training.Export;

/// <summary>
/// Exports a trained network truncated to a rank fraction. Truncation keeps the first components of every
/// factorised layer, as Maestro's ordered representation allows (Horváth et al. 2024, arXiv 2308.14929, after
/// SamsungLabs/maestro, Apache-2.0); a dense baseline is first factorised exactly by SVD, as the rank sweep does.
/// </summary>
public static class VariantExporter
{
    /// <summary>ONNX IR version written (IR v8, 2021-07-30; onnx/onnx.proto, Apache-2.0).</summary>
    public const long OnnxIrVersion = 8;

    /// <summary>Default-domain opset the graph is written against (Gemm, Conv, MaxPool, Relu, Flatten, Mul as of opset 17).</summary>
    public const long OnnxOpset = 17;

    /// <summary>
    /// Truncates the trained model in <paramref name="modelFile"/> (<see cref="ModelFile"/> format) to
    /// <paramref name="rankFraction"/> (every layer at <c>RankAt</c>, the ranks the rank sweep scores) and exports it
    /// as ONNX (input <c>input</c>: float32 [batch, ..network input shape], output <c>logits</c>: [batch, classes])
    /// and as TorchSharp weights (<see cref="ModelFile"/> format of the truncated network, reloadable by
    /// <see cref="ModelFile.Read"/>). Per layer the cheaper form: two products (V then U) when r·(in+out) &lt; in·out,
    /// else one dense weight U·V.
    /// </summary>
    /// <remarks>
    /// The model file keeps only each layer's active rank, not the rank it was built with; when progressive shrinking
    /// removed components, <c>RankAt</c> on the reloaded network can differ from the sweep's. Pass the sweep's
    /// <see cref="RankPoint.Ranks"/> to <see cref="Export(Stream, double, IReadOnlyList{int}?)"/> to export exactly those.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1].</exception>
    /// <exception cref="InvalidDataException">The stream is not a model file.</exception>
    public static VariantExport Export(Stream modelFile, double rankFraction) => Export(modelFile, rankFraction, null);

    /// <summary>As <see cref="Export(Stream, double)"/>, with explicit ranks per factorised layer (null: <c>RankAt</c>).</summary>
    /// <exception cref="ArgumentException">A rank is below 1 or above the layer's active rank, or the count is wrong.</exception>
    public static VariantExport Export(Stream modelFile, double rankFraction, IReadOnlyList<int>? ranks)
    {
        ArgumentNullException.ThrowIfNull(modelFile);
        if (!double.IsFinite(rankFraction) || rankFraction <= 0 || rankFraction > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rankFraction), rankFraction, "The rank fraction must be in (0, 1].");
        }
        using var noGrad = no_grad();
        using ClassifierNetwork trained = ModelFile.Read(modelFile);
        using ClassifierNetwork? factorized = trained.IsLowRank ? null : trained.ToFactorized();
        ClassifierNetwork swept = factorized ?? trained;
        IReadOnlyList<IFactorizedLayer> layers = swept.Factorized;
        int[] kept = ranks?.ToArray() ?? layers.Select(l => TrainingSession.RankAt(rankFraction, l)).ToArray();
        if (kept.Length != layers.Count)
        {
            throw new ArgumentException($"Expected {layers.Count} ranks; got {kept.Length}.", nameof(ranks));
        }
        for (int i = 0; i < kept.Length; i++)
        {
            if (kept[i] < 1 || kept[i] > layers[i].ActiveRank)
            {
                throw new ArgumentException($"Rank {kept[i]} of layer {i} is outside [1, {layers[i].ActiveRank}].", nameof(ranks));
            }
        }

        long parameters = swept.ParameterCount(kept);
        long flops = swept.Flops(kept);
        int[] active = layers.Select(l => l.ActiveRank).ToArray();
        for (int i = 0; i < layers.Count; i++)
        {
            layers[i].ActiveRank = kept[i];
        }
        using ClassifierNetwork truncated = swept.Shrunk();
        for (int i = 0; i < layers.Count; i++)
        {
            layers[i].ActiveRank = active[i];
        }
        truncated.eval();

        using var torchSharp = new MemoryStream();
        ModelFile.Write(torchSharp, truncated);
        (ModelProto onnx, IReadOnlyList<string> forms, long onnxParameters) = OnnxGraphBuilder.Build(truncated);
        return new VariantExport(rankFraction, kept, parameters, flops, onnx.ToByteArray(), torchSharp.ToArray(), forms)
        {
            InputShape = truncated.InputShape.ToArray(),
            OnnxParameters = onnxParameters,
        };
    }

    /// <summary>The export rule: keep the factors apart when r·(in+out) &lt; in·out (fewer weights and multiply–adds).</summary>
    public static bool PrefersFactored(int rank, long fanIn, long fanOut) => rank * (fanIn + fanOut) < fanIn * fanOut;
}
