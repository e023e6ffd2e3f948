using Training.Modules;
using static TorchSharp.torch;

namespace Training.Methods;

/// <summary>
/// Maestro's hierarchical group lasso and rank importance (Horváth et al. 2024, arXiv 2308.14929, Sec. 3;
/// SamsungLabs/maestro, Apache-2.0). For a factorised layer with components V_i (rows of V) and U_i (columns of U),
/// in_k = sqrt(Σ_{i≥k} ‖V_i‖²), out_k = sqrt(Σ_{i≥k} ‖U_i‖²); the penalty is Σ_k (in_k + out_k) and the
/// importance of rank k is in_k·out_k.
/// </summary>
public static class GroupLasso
{
    /// <summary>Penalty of one layer over its active ranks, differentiable.</summary>
    public static Tensor Penalty(IFactorizedLayer layer)
    {
        using var scope = NewDisposeScope();
        var (inTail, outTail) = Tails(layer);
        return (inTail.sqrt().sum() + outTail.sqrt().sum()).MoveToOuterDisposeScope();
    }

    /// <summary>Sum of <see cref="Penalty(IFactorizedLayer)"/> over every layer.</summary>
    public static Tensor Penalty(IEnumerable<IFactorizedLayer> layers)
    {
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (IFactorizedLayer layer in layers)
        {
            Tensor p = Penalty(layer);
            total = total is null ? p : total + p;
        }
        return (total ?? zeros(1).sum()).MoveToOuterDisposeScope();
    }

    /// <summary>Importance in_k·out_k of every active rank k (non-increasing in k).</summary>
    public static double[] Importance(IFactorizedLayer layer)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (inTail, outTail) = Tails(layer);
        return Engine.HostSync.Values(inTail.sqrt() * outTail.sqrt());
    }

    /// <summary>Progressive shrinking: the number of leading ranks whose importance is at least <paramref name="threshold"/> (at least 1).</summary>
    public static int RanksToKeep(IFactorizedLayer layer, double threshold)
    {
        double[] importance = Importance(layer);
        int keep = 0;
        while (keep < importance.Length && importance[keep] >= threshold)
        {
            keep++;
        }
        return Math.Max(1, keep);
    }

    private static (Tensor In, Tensor Out) Tails(IFactorizedLayer layer)
    {
        int rank = layer.ActiveRank;
        Tensor vNorms = layer.ComponentsIn.narrow(0, 0, rank).square().sum(1);
        Tensor uNorms = layer.ComponentsOut.narrow(1, 0, rank).square().sum(dim: 0);
        // Σ_{i≥k} as a reversed cumulative sum; the epsilon keeps sqrt differentiable at an all-zero tail.
        Tensor inTail = vNorms.flip(0).cumsum(0).flip(0) + 1e-20;
        Tensor outTail = uNorms.flip(0).cumsum(0).flip(0) + 1e-20;
        return (inTail, outTail);
    }
}
