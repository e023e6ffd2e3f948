using TorchSharp;
using static TorchSharp.torch;

namespace Training.Modules;

/// <summary>
/// A layer factorised as U·V with ordered components (Maestro, Horváth et al. 2024, arXiv 2308.14929):
/// component i is row i of V and column i of U, and truncating to rank b keeps components 0..b−1.
/// </summary>
public interface IFactorizedLayer
{
    /// <summary>Rank the layer was built with (min(in, out) capped by the model's maxRank).</summary>
    int FullRank { get; }

    /// <summary>Ranks still in use after progressive shrinking; the forward pass never uses more.</summary>
    int ActiveRank { get; set; }

    /// <summary>Rank of the next forward passes (ordered dropout, sweep); null uses <see cref="ActiveRank"/>.</summary>
    int? Truncation { get; set; }

    /// <summary>V as components × fan-in (a conv's kernel flattened per output channel).</summary>
    Tensor ComponentsIn { get; }

    /// <summary>U as fan-out × components.</summary>
    Tensor ComponentsOut { get; }

    /// <summary>Parameters of the layer truncated to <paramref name="rank"/> components.</summary>
    long ParameterCount(int rank);

    /// <summary>Floating-point operations (2 per multiply–accumulate) per sample at <paramref name="rank"/> components.</summary>
    long Flops(int rank);

    /// <summary>A new layer holding only the first <paramref name="rank"/> components (physical removal).</summary>
    IFactorizedLayer Slice(int rank);

    /// <summary>Overwrites this layer's components with the leading ones of <paramref name="source"/> (same kind and shape, at least as many components) and copies its bias.</summary>
    void CopyComponentsFrom(IFactorizedLayer source);
}

internal static class FactorizedLayerExtensions
{
    public static int EffectiveRank(this IFactorizedLayer layer) =>
        Math.Clamp(layer.Truncation ?? layer.ActiveRank, 1, layer.ActiveRank);

    /// <summary>Replaces stored factors V and U by their raw values under the companders (f⁻¹), keeping the effective weights.</summary>
    public static void StoreRaw(Tensor v, Tensor u, WeightCompander onV, WeightCompander onU)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        v.copy_(onV.Expand(v));
        u.copy_(onU.Expand(u));
    }

    /// <summary>Copies the leading components of <paramref name="source"/> (V rows, U columns) and its bias into <paramref name="target"/>.</summary>
    public static void CopyLeading((Tensor V, Tensor U, Tensor Bias) target, (Tensor V, Tensor U, Tensor Bias)? source)
    {
        if (source is not { } s || s.V.shape[0] < target.V.shape[0] || s.Bias.shape[0] != target.Bias.shape[0])
        {
            throw new ArgumentException("The source layer has another kind or shape.", nameof(source));
        }
        using var noGrad = no_grad();
        long rank = target.V.shape[0];
        target.V.copy_(s.V.narrow(0, 0, rank));
        target.U.copy_(s.U.narrow(1, 0, rank));
        target.Bias.copy_(s.Bias);
    }
}
