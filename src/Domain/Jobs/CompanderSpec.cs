using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Weight compander, unverified form (after Cakaj, Mehnert, Yang 2023, "Weight Compander: A Simple Weight
/// Reparameterization for Regularization", arXiv 2306.16993): every body weight tensor (a dense layer's weight, a
/// low-rank layer's U and V factors; not the classifier) is trained as raw values θ and used as
/// w = a·tanh(b·θ/a): smooth, odd, bounded by a, and with slope b &gt; 1 at zero, so small weights are expanded and move
/// off zero faster while large ones saturate. The paper's exact function could not be obtained (only its abstract), so
/// this function has the properties the abstract states but is NOT verified against the paper. a starts at
/// <see cref="Bound"/> times the root-mean-square of the tensor's initial values and b at <see cref="Gain"/>; with
/// <see cref="Learnable"/> both are trained (in log space) per tensor. The shipped and exported network holds the
/// effective weights w, so it is an ordinary network.
/// </summary>
[Description("Weight compander (unverified form; after Cakaj, Mehnert, Yang 2023, arXiv 2306.16993, whose exact function we could not obtain): "
    + "every body weight tensor (dense weights, low-rank U and V; not the classifier) is used as w = a*tanh(b*theta/a), bounded by a and "
    + "expanding near zero (slope b > 1). a starts at bound x RMS of the tensor's initial values, b at gain; learnable trains both per tensor. "
    + "The shipped and exported model holds the effective weights.")]
public sealed record CompanderSpec
{
    public const double DefaultBound = 3;
    public const double MinBound = 2;
    public const double MaxBound = 100;
    public const double DefaultGain = 2;
    public const double MinGain = 1;
    public const double MaxGain = 10;

    /// <summary>a at the start, as a multiple of the root-mean-square of the tensor's initial values, in [2, 100] (default 3).</summary>
    [Description("The bound a at the start, as a multiple of the RMS of each tensor's initial values; [2, 100].")]
    [DefaultValue(DefaultBound)]
    [Range(MinBound, MaxBound)]
    public double Bound { get; init; } = DefaultBound;

    /// <summary>b at the start, the slope of the compander at zero, in (1, 10] (default 2); larger expands small weights more.</summary>
    [Description("The slope b at zero at the start; (1, 10]. Larger values push small weights away from zero harder.")]
    [DefaultValue(DefaultGain)]
    [Range(MinGain, MaxGain, MinimumIsExclusive = true)]
    public double Gain { get; init; } = DefaultGain;

    /// <summary>Whether a and b are trained per tensor (default true) or fixed.</summary>
    [Description("Whether the bound and slope are trained per weight tensor (true) or stay fixed.")]
    [DefaultValue(true)]
    public bool Learnable { get; init; } = true;

    internal void Validate(Rules rules, string path)
    {
        rules.Range($"{path}.bound", Bound, MinBound, MaxBound);
        rules.Range($"{path}.gain", Gain, MinGain, MaxGain, minExclusive: true);
    }
}
