using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// Conv2d as a k×k convolution from in to r channels (no bias) followed by a 1×1 convolution from r to out
/// (with bias), r = min(out, in·k²) unless capped (Maestro, Horváth et al. 2024, arXiv 2308.14929).
/// Initialised from the SVD of the dense kernel reshaped to out × (in·k·k): U = P·√S, V = √S·Qᵀ.
/// </summary>
public sealed class LowRankConv2d : Module<Tensor, Tensor>, IFactorizedLayer
{
    private readonly Parameter v;
    private readonly Parameter u;
    private readonly Parameter bias;

    private LowRankConv2d(Tensor vWeight, Tensor uWeight, Tensor uBias, int fullRank, int padding) : base(nameof(LowRankConv2d))
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
        InChannels = (int)vWeight.shape[1];
        KernelSize = (int)vWeight.shape[2];
        OutChannels = (int)uWeight.shape[0];
        Padding = padding;
        RegisterComponents();
    }

    public int InChannels { get; }

    public int OutChannels { get; }

    public int KernelSize { get; }

    public int Padding { get; }

    /// <summary>Output height × width for the sample shape this layer sees; set by the network for FLOP counts.</summary>
    public long OutputPixels { get; set; } = 1;

    public int FullRank { get; }

    public int ActiveRank { get; set; }

    public int? Truncation { get; set; }

    public Tensor ComponentsIn => v.flatten(1);

    public Tensor ComponentsOut => u.flatten(1);

    /// <summary>A layer initialised like <c>nn.Conv2d</c> (normal, with the variance of the Kaiming-uniform default) and then decomposed.</summary>
    public static LowRankConv2d Create(int inChannels, int outChannels, int kernelSize, int padding = 0, int? maxRank = null)
    {
        using var scope = NewDisposeScope();
        double bound = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
        Tensor weight = empty(outChannels, inChannels, kernelSize, kernelSize).normal_(0, bound / Math.Sqrt(3));
        Tensor b = empty(outChannels).uniform_(-bound, bound);
        return FromDense(weight, b, padding, maxRank);
    }

    /// <summary>Decomposes a dense kernel (out × in × k × k) by SVD.</summary>
    public static LowRankConv2d FromDense(Tensor weight, Tensor? denseBias, int padding, int? maxRank = null)
    {
        using var scope = NewDisposeScope();
        int outChannels = (int)weight.shape[0];
        int inChannels = (int)weight.shape[1];
        int k = (int)weight.shape[2];
        int rank = Math.Min(Math.Min(outChannels, inChannels * k * k), maxRank ?? int.MaxValue);
        var (p, s, qt) = linalg.svd(weight.detach().reshape(outChannels, -1).to(float64), fullMatrices: false);
        Tensor root = s.narrow(0, 0, rank).sqrt();
        Tensor uWeight = (p.narrow(1, 0, rank) * root.unsqueeze(0)).to(weight.dtype).reshape(outChannels, rank, 1, 1);
        Tensor vWeight = (root.unsqueeze(1) * qt.narrow(0, 0, rank)).to(weight.dtype).reshape(rank, inChannels, k, k);
        Tensor b = denseBias?.detach() ?? zeros(outChannels, dtype: weight.dtype, device: weight.device);
        return new LowRankConv2d(vWeight, uWeight, b, rank, padding);
    }

    public override Tensor forward(Tensor input) => Forward(input, null, null);

    /// <summary>Replaces the stored V and U by their raw values under the companders (f⁻¹), so the layer's effective weights are unchanged.</summary>
    internal void StoreRaw(WeightCompander onV, WeightCompander onU) => FactorizedLayerExtensions.StoreRaw(v, u, onV, onU);

    /// <summary>A plain layer holding the effective V and U (active components only), for shipping a companded network.</summary>
    internal LowRankConv2d Baked(WeightCompander onV, WeightCompander onU)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return new LowRankConv2d(onV.call(v.narrow(0, 0, ActiveRank)), onU.call(u.narrow(1, 0, ActiveRank)), bias, FullRank, Padding) { OutputPixels = OutputPixels };
    }

    /// <summary>The forward pass with V and U read through weight companders (null: as stored).</summary>
    internal Tensor Forward(Tensor input, WeightCompander? onV, WeightCompander? onU)
    {
        int rank = this.EffectiveRank();
        using var scope = NewDisposeScope();
        // V as a k×k convolution to r channels, then U as a 1×1 convolution, both as matrix products over
        // im2col columns (see Im2Col for why libtorch's conv2d is avoided).
        var (columns, height, width) = Im2Col.Unfold(input, KernelSize, Padding);
        Tensor vr = v.narrow(0, 0, rank), ur = u.narrow(1, 0, rank);
        Tensor hidden = (onV is null ? vr : onV.call(vr)).flatten(1).matmul(columns);
        Tensor output = (onU is null ? ur : onU.call(ur)).flatten(1).matmul(hidden) + bias.view(1, -1, 1);
        return Im2Col.Fold(output, height, width).MoveToOuterDisposeScope();
    }

    public long ParameterCount(int rank) => (long)rank * InChannels * KernelSize * KernelSize + (long)OutChannels * rank + OutChannels;

    public long Flops(int rank) => 2L * OutputPixels * rank * (InChannels * KernelSize * KernelSize + OutChannels);

    public IFactorizedLayer Slice(int rank)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return new LowRankConv2d(v.narrow(0, 0, rank), u.narrow(1, 0, rank), bias, FullRank, Padding) { OutputPixels = OutputPixels };
    }

    public void CopyComponentsFrom(IFactorizedLayer source) =>
        FactorizedLayerExtensions.CopyLeading((v, u, bias), source is LowRankConv2d other ? (other.v, other.u, other.bias) : null);
}
