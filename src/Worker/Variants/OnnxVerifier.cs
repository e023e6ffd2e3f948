using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Training.Engine;
using Training.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace Worker.Variants;

/// <summary>Checks an export: the ONNX model under ONNX Runtime must compute what the TorchSharp network computes.</summary>
public static class OnnxVerifier
{
    /// <summary>
    /// Largest max-abs difference in float32 logits an export may show (issue 4), for logits up to 1 in magnitude.
    /// Larger logits scale it: float32 keeps about 7 significant digits, so at |logit| ≈ 300 one unit in the last
    /// place is 3e-5, and two correct programs that add in a different order (U·(V·x) against (U·V)·x) differ by a
    /// few of them. The bound is <see cref="Tolerance"/> × max(1, max |logit|).
    /// </summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// Runs the ONNX model with ONNX Runtime (CPU) and the same truncated network with TorchSharp on the CPU
    /// (<see cref="ModelFile.Read"/> of <see cref="VariantExport.TorchSharp"/>) on <paramref name="inputs"/>
    /// (float32, <paramref name="count"/> × sample size, row-major) and returns the max abs difference of the logits.
    /// </summary>
    /// <exception cref="InvalidOperationException">The difference is ≥ <see cref="Tolerance"/> × max(1, max |logit|) (or not a number),
    /// or the two disagree on the output shape; the message gives the fraction, the worst element and both values.</exception>
    /// <exception cref="ArgumentException">The inputs are not <paramref name="count"/> samples of the model's input size.</exception>
    public static double Verify(VariantExport export, float[] inputs, int count)
    {
        ArgumentNullException.ThrowIfNull(export);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(export.Onnx, options);
        (string inputName, long[] inputShape) = OnnxInputs.Describe(session, count);
        long sampleSize = inputShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        if (inputs.LongLength != count * sampleSize)
        {
            throw new ArgumentException($"Expected {count} × {sampleSize} inputs; got {inputs.Length}.", nameof(inputs));
        }
        float[] onnx;
        using (OrtValue input = OrtValue.CreateTensorValueFromMemory(inputs, inputShape))
        using (var runOptions = new RunOptions())
        using (IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, [inputName], [input], session.OutputNames))
        {
            onnx = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        float[] torchOutput;
        int classes;
        using (var scope = NewDisposeScope())
        using (no_grad())
        using (var network = ModelFile.Read(new MemoryStream(export.TorchSharp, writable: false)))
        {
            network.eval();
            Tensor logits = network.call(tensor(inputs, [count, sampleSize]));
            torchOutput = logits.contiguous().data<float>().ToArray();
            classes = network.Classes;
        }

        if (onnx.Length != torchOutput.Length)
        {
            throw new InvalidOperationException(
                $"Export at rank fraction {Format(export.RankFraction)}: ONNX Runtime returned {onnx.Length} logits, TorchSharp {torchOutput.Length}.");
        }
        double worst = 0;
        int at = 0;
        for (int i = 0; i < onnx.Length; i++)
        {
            double difference = Math.Abs((double)onnx[i] - torchOutput[i]);
            // NaN compares false: count it as the worst possible difference.
            if (double.IsNaN(difference) || difference > worst)
            {
                worst = double.IsNaN(difference) ? double.PositiveInfinity : difference;
                at = i;
            }
        }
        double scale = Math.Max(1, torchOutput.Max(v => Math.Abs((double)v)));
        if (!(worst < Tolerance * scale))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"ONNX export at rank fraction {Format(export.RankFraction)} (ranks [{string.Join(", ", export.Ranks)}], forms [{string.Join(", ", export.LayerForms)}]) " +
                $"differs from TorchSharp by {worst:G6} ≥ {Tolerance:G2} × {scale:G4} (the largest |logit|): sample {at / classes}, class {at % classes}: " +
                $"ONNX Runtime {onnx[at]:G9}, TorchSharp {torchOutput[at]:G9}."));
        }
        return worst;
    }

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>Reads the single input of an exported model and fixes its batch axis.</summary>
internal static class OnnxInputs
{
    public static (string Name, long[] Shape) Describe(InferenceSession session, int batch)
    {
        if (session.InputMetadata.Count != 1)
        {
            throw new InvalidOperationException($"Expected one model input; found {session.InputMetadata.Count}.");
        }
        var (name, metadata) = session.InputMetadata.Single();
        long[] shape = metadata.Dimensions.Select(d => (long)d).ToArray();
        if (shape.Length < 2 || shape.Skip(1).Any(d => d <= 0))
        {
            throw new InvalidOperationException($"Input '{name}' must be [batch, fixed sample dims]; got [{string.Join(", ", shape)}].");
        }
        shape[0] = batch;
        return (name, shape);
    }
}
