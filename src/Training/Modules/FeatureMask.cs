using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// Nested dropout's truncation of the penultimate features (Rippel, Gelbart and Adams 2014, "Learning Ordered
/// Representations with Nested Dropout"): keeps features 0..k−1 and zeroes the rest. A module of its own so the
/// network's forward pass simply calls it; it has no parameters, so state dicts are unchanged.
/// </summary>
public sealed class FeatureMask : Module<Tensor, Tensor>
{
    public FeatureMask(int features) : base(nameof(FeatureMask))
    {
        Features = features;
        RegisterComponents();
    }

    /// <summary>Number of features the mask acts on.</summary>
    public int Features { get; }

    /// <summary>Features kept (1..<see cref="Features"/>); null keeps all.</summary>
    public int? Keep { get; set; }

    public override Tensor forward(Tensor input)
    {
        if (Keep is not int k || k >= Features)
        {
            return input.alias();
        }
        using var scope = NewDisposeScope();
        Tensor mask = arange(Features, device: input.device).lt(k).to(input.dtype);
        return (input * mask).MoveToOuterDisposeScope();
    }
}
