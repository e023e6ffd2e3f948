namespace Training.Export;

/// <summary>
/// One exported variant: the trained network truncated to <see cref="RankFraction"/> (every factorised layer at
/// <see cref="Ranks"/>), as ONNX (what devices run) and as TorchSharp weights (<see cref="Engine.ModelFile"/> format).
/// </summary>
/// <param name="RankFraction">The fraction the ranks were taken at.</param>
/// <param name="Ranks">Components kept per factorised body layer.</param>
/// <param name="Parameters">Parameters of the factorised network at <paramref name="Ranks"/>, as the rank sweep's
/// <see cref="Engine.RankPoint.Parameters"/> counts them (independent of the form each layer is exported in).</param>
/// <param name="Flops">FLOPs per sample of the factorised network at <paramref name="Ranks"/>, as <see cref="Engine.RankPoint.Flops"/>.</param>
/// <param name="Onnx">ONNX model (IR version <see cref="VariantExporter.OnnxIrVersion"/>, opset <see cref="VariantExporter.OnnxOpset"/>):
/// input <c>input</c> float32 [batch, ..<see cref="InputShape"/>], output <c>logits</c> float32 [batch, classes].</param>
/// <param name="TorchSharp">The truncated network in <see cref="Engine.ModelFile"/> format; <see cref="Engine.ModelFile.Read"/> reloads it.</param>
/// <param name="LayerForms">Per body layer, <c>factored</c> (U and V kept apart) or <c>dense</c> (U·V multiplied out).</param>
public sealed record VariantExport(
    double RankFraction,
    IReadOnlyList<int> Ranks,
    long Parameters,
    long Flops,
    byte[] Onnx,
    byte[] TorchSharp,
    IReadOnlyList<string> LayerForms)
{
    /// <summary>Per-sample input shape the ONNX model declares after the batch axis: (D) for an MLP, (C, H, W) for a CNN.</summary>
    public IReadOnlyList<int> InputShape { get; init; } = [];

    /// <summary>Parameters actually stored in the ONNX file (dense layers hold in·out weights).</summary>
    public long OnnxParameters { get; init; }
}

/// <summary>The two forms a factorised layer can be exported in.</summary>
public static class LayerForm
{
    public const string Factored = "factored";
    public const string Dense = "dense";
}
