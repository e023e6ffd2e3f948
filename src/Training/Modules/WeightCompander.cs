using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// Weight compander, unverified form: reparameterises one weight tensor θ (a dense layer's weight, or a factorised
/// layer's U or V) as the effective weight
/// <code>w = f(θ) = a · tanh(b · θ / a)</code>
/// with a = exp(<c>log_bound</c>) &gt; 0 the bound and b = exp(<c>log_gain</c>) &gt; 0 the slope at zero. f is smooth
/// and odd, |f(θ)| &lt; a (bounded), and for b &gt; 1 it expands near zero: f′(0) = b, so |f(θ)| &gt; |θ| for small θ and a
/// gradient step on θ moves the effective weight b² times further near zero than a plain step, while near the bound
/// f′ → 0 and the weight saturates ("zero-repelling" in this sense).
/// <para>
/// Cakaj, Mehnert and Yang 2023 ("Weight Compander: A Simple Weight Reparameterization for Regularization", arXiv
/// 2306.16993) reparameterise every weight through a nonlinear function that bounds its magnitude and pushes it away
/// from zero, optionally with learnt hyperparameters. Their exact function was not available to us (only the
/// abstract was found): this form has the stated properties but is NOT verified against the paper.
/// </para>
/// <para>
/// The bound starts at <c>boundFactor</c> times the root-mean-square of the tensor's initial values, so one setting
/// suits layers of any fan-in; the raw θ starts at f⁻¹ of the initial weight, so a companded network begins as the plain
/// one. When learnable, a and b are trained in log space (they stay positive) by the network's optimiser.
/// </para>
/// </summary>
public sealed class WeightCompander : Module<Tensor, Tensor>
{
    // Keeps the inverse finite for initial weights at or beyond the bound (normal initialisation has tails).
    private const double EdgeMargin = 1e-4;

    // Shape [1], not 0-dim, so the state-dict round trip (checkpoints, best-validation snapshots) keeps them.
    private readonly Parameter log_bound;
    private readonly Parameter log_gain;

    private WeightCompander(Tensor logBound, Tensor logGain, bool learnable) : base(nameof(WeightCompander))
    {
        log_bound = new Parameter(logBound.detach().clone(), requires_grad: learnable);
        log_gain = new Parameter(logGain.detach().clone(), requires_grad: learnable);
        log_bound.DetachFromDisposeScope();
        log_gain.DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>a, the bound of the effective weights (shape [1], attached to the graph).</summary>
    public Tensor Bound => log_bound.exp();

    /// <summary>b, the slope of f at zero (shape [1], attached to the graph).</summary>
    public Tensor Gain => log_gain.exp();

    /// <summary>A compander with fixed a and b (tests, hand-computed cases).</summary>
    public static WeightCompander Create(double bound, double gain, bool learnable)
    {
        using var scope = NewDisposeScope();
        return new WeightCompander(tensor(new[] { (float)Math.Log(bound) }), tensor(new[] { (float)Math.Log(gain) }), learnable);
    }

    /// <summary>A compander for <paramref name="weight"/>: a = <paramref name="boundFactor"/> · rms(weight), b = <paramref name="gain"/> (no host read).</summary>
    public static WeightCompander ForWeight(Tensor weight, double boundFactor, double gain, bool learnable)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor rms = weight.detach().square().mean().sqrt().clamp_min(1e-12);
        Tensor logBound = (rms * boundFactor).log().reshape(1).to(weight.dtype);
        return new WeightCompander(logBound, full([1], Math.Log(gain), dtype: weight.dtype, device: weight.device), learnable);
    }

    /// <summary>The effective weight f(θ) of raw values <paramref name="raw"/>.</summary>
    public override Tensor forward(Tensor raw) => Compand(raw, Bound, Gain);

    /// <summary>f⁻¹: the raw θ whose effective weight is <paramref name="effective"/> (clamped just inside the bound).</summary>
    public Tensor Expand(Tensor effective)
    {
        using var scope = NewDisposeScope();
        Tensor a = Bound, b = Gain;
        Tensor ratio = (effective / a).clamp(-1 + EdgeMargin, 1 - EdgeMargin);
        return (a / b * ratio.atanh()).MoveToOuterDisposeScope();
    }

    /// <summary>f(θ) = a · tanh(b · θ / a).</summary>
    public static Tensor Compand(Tensor raw, Tensor bound, Tensor gain)
    {
        using var scope = NewDisposeScope();
        return (bound * (gain * raw / bound).tanh()).MoveToOuterDisposeScope();
    }
}
