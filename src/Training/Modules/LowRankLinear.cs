using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// Linear layer as V (r × in, no bias) followed by U (out × r, with bias), r = min(in, out) unless capped
/// (Maestro, Horváth et al. 2024, arXiv 2308.14929, after the authors' SamsungLabs/maestro code, Apache-2.0).
/// Initialised from the SVD W = P·S·Qᵀ of a normally initialised dense weight: U = P·√S, V = √S·Qᵀ,
/// so the ranks start in decreasing order of importance.
/// </summary>
public sealed class LowRankLinear : Module<Tensor, Tensor>, IFactorizedLayer
{
    private readonly Parameter v;
    private readonly Parameter u;
    private readonly Parameter bias;

    private LowRankLinear(Tensor vWeight, Tensor uWeight, Tensor uBias, int fullRank) : base(nameof(LowRankLinear))
    {
        // Factories build the factors inside dispose scopes; the parameters must outlive them.
        v = new Parameter(vWeight.detach().contiguous().clone());
        u = new Parameter(uWeight.detach().contiguous().clone());
        bias = new Parameter(uBias.detach().contiguous().clone());
        v.DetachFromDisposeScope();
        u.DetachFromDisposeScope();
        bias.DetachFromDisposeScope();
        FullRank = fullRank;
        ActiveRank = (int)vWeight.shape[0];
        InFeatures = (int)vWeight.shape[1];
        OutFeatures = (int)uWeight.shape[0];
        RegisterComponents();
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public int FullRank { get; }

    public int ActiveRank { get; set; }

    public int? Truncation { get; set; }

    public Tensor ComponentsIn => v;

    public Tensor ComponentsOut => u;

    /// <summary>A layer initialised like <c>nn.Linear</c> (normal, with the variance of the Kaiming-uniform default) and then decomposed.</summary>
    public static LowRankLinear Create(int inFeatures, int outFeatures, int? maxRank = null)
    {
        using var scope = NewDisposeScope();
        // Normal with the variance of torch.nn.Linear's default init, so dense and factorised baselines start alike.
        double bound = 1.0 / Math.Sqrt(inFeatures);
        Tensor weight = empty(outFeatures, inFeatures).normal_(0, bound / Math.Sqrt(3));
        Tensor b = empty(outFeatures).uniform_(-bound, bound);
        return FromDense(weight, b, maxRank);
    }

    /// <summary>Decomposes a dense weight (out × in) by SVD, keeping at most <paramref name="maxRank"/> components.</summary>
    public static LowRankLinear FromDense(Tensor weight, Tensor? denseBias, int? maxRank = null)
    {
        using var scope = NewDisposeScope();
        int outFeatures = (int)weight.shape[0];
        int inFeatures = (int)weight.shape[1];
        int rank = Math.Min(Math.Min(inFeatures, outFeatures), maxRank ?? int.MaxValue);
        var (p, s, qt) = linalg.svd(weight.detach().to(float64), fullMatrices: false);
        Tensor root = s.narrow(0, 0, rank).sqrt();
        Tensor uWeight = (p.narrow(1, 0, rank) * root.unsqueeze(0)).to(weight.dtype);
        Tensor vWeight = (root.unsqueeze(1) * qt.narrow(0, 0, rank)).to(weight.dtype);
        Tensor b = denseBias?.detach() ?? zeros(outFeatures, dtype: weight.dtype, device: weight.device);
        return new LowRankLinear(vWeight, uWeight, b, rank);
    }

    /// <summary>A layer from explicit factors V (r × in), U (out × r) and bias (out).</summary>
    public static LowRankLinear FromFactors(Tensor v, Tensor u, Tensor bias) => new(v, u, bias, (int)v.shape[0]);

    public override Tensor forward(Tensor input) => Forward(input, null, null);

    /// <summary>The forward pass with V and U read through weight companders (null: as stored).</summary>
    internal Tensor Forward(Tensor input, WeightCompander? onV, WeightCompander? onU)
    {
        int rank = this.EffectiveRank();
        using var scope = NewDisposeScope();
        Tensor vr = v.narrow(0, 0, rank), ur = u.narrow(1, 0, rank);
        Tensor hidden = nn.functional.linear(input, onV is null ? vr : onV.call(vr));
        return nn.functional.linear(hidden, onU is null ? ur : onU.call(ur), bias).MoveToOuterDisposeScope();
    }

    /// <summary>Replaces the stored V and U by their raw values under the companders (f⁻¹), so the layer's effective weights are unchanged.</summary>
    internal void StoreRaw(WeightCompander onV, WeightCompander onU) => FactorizedLayerExtensions.StoreRaw(v, u, onV, onU);

    /// <summary>A plain layer holding the effective V and U (active components only), for shipping a companded network.</summary>
    internal LowRankLinear Baked(WeightCompander onV, WeightCompander onU)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return new LowRankLinear(onV.call(v.narrow(0, 0, ActiveRank)), onU.call(u.narrow(1, 0, ActiveRank)), bias, FullRank);
    }

    public long ParameterCount(int rank) => (long)rank * (InFeatures + OutFeatures) + OutFeatures;

    public long Flops(int rank) => 2L * rank * (InFeatures + OutFeatures);

    public IFactorizedLayer Slice(int rank)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return new LowRankLinear(v.narrow(0, 0, rank), u.narrow(1, 0, rank), bias, FullRank);
    }

    public void CopyComponentsFrom(IFactorizedLayer source) =>
        FactorizedLayerExtensions.CopyLeading((v, u, bias), source is LowRankLinear other ? (other.v, other.u, other.bias) : null);
}
