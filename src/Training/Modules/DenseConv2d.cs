using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// The dense baseline's convolution (stride 1, no padding): the same parameters and state-dict keys as
/// <c>nn.Conv2d</c> (<c>weight</c> out × in × k × k, <c>bias</c>), computed through <see cref="Im2Col"/>.
/// </summary>
public sealed class DenseConv2d : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    private DenseConv2d(Tensor kernel, Tensor b) : base(nameof(DenseConv2d))
    {
        weight = new Parameter(kernel.detach().contiguous().clone());
        bias = new Parameter(b.detach().contiguous().clone());
        weight.DetachFromDisposeScope();
        bias.DetachFromDisposeScope();
        RegisterComponents();
    }

    public Tensor Weight => weight;

    public Tensor Bias => bias;

    public int KernelSize => (int)weight.shape[2];

    /// <summary>Initialised like <c>nn.Conv2d</c>: weight and bias uniform in ±1/√(in·k²).</summary>
    public static DenseConv2d Create(int inChannels, int outChannels, int kernelSize)
    {
        using var scope = NewDisposeScope();
        double bound = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
        return new DenseConv2d(
            empty(outChannels, inChannels, kernelSize, kernelSize).uniform_(-bound, bound),
            empty(outChannels).uniform_(-bound, bound));
    }

    /// <summary>A copy on the same device.</summary>
    public DenseConv2d Clone()
    {
        using var noGrad = no_grad();
        return new DenseConv2d(weight, bias);
    }

    /// <summary>A copy whose kernel is <paramref name="kernel"/> (e.g. a weight compander's effective kernel), same bias.</summary>
    internal DenseConv2d WithKernel(Tensor kernel)
    {
        using var noGrad = no_grad();
        return new DenseConv2d(kernel, bias);
    }

    public override Tensor forward(Tensor input) => Forward(input, weight);

    /// <summary>The forward pass with <paramref name="kernel"/> in place of the stored weight (a weight compander's effective kernel).</summary>
    internal Tensor Forward(Tensor input, Tensor kernel)
    {
        using var scope = NewDisposeScope();
        var (columns, height, width) = Im2Col.Unfold(input, KernelSize, 0);
        Tensor output = kernel.flatten(1).matmul(columns) + bias.view(1, -1, 1);
        return Im2Col.Fold(output, height, width).MoveToOuterDisposeScope();
    }
}
