using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>
/// Co-teaching (Han et al., 2018): two networks each keep the ⌊(1 − R(t))·B⌋ smallest-loss samples of a
/// mini-batch and the peer updates on them, R(t) = τ·min((t/T_k)^c, 1). Co-teaching+ (Yu et al., 2019)
/// first keeps only the samples the two networks disagree on.
/// </summary>
public sealed record CoTeachingSpec
{
    /// <summary>τ, the final forget rate. Null uses the noise rate (required then).</summary>
    [Range(0, 0.95)]
    public double? ForgetRate { get; init; }

    /// <summary>T_k, the epochs over which R(t) ramps up to τ.</summary>
    [Range(1, 1000)]
    public int GradualEpochs { get; init; } = 10;

    /// <summary>c, the exponent of the ramp (1 in the paper).</summary>
    [Range(0, 10, MinimumIsExclusive = true)]
    public double Exponent { get; init; } = 1;

    /// <summary>Use co-teaching+ (disagreement, then small loss).</summary>
    public bool Plus { get; init; }

    /// <summary>Epochs of plain co-teaching before disagreement selection starts (co-teaching+ only).</summary>
    [Range(0, 1000)]
    public int PlusStartEpoch { get; init; } = 1;

    /// <summary>τ as used by training: <see cref="ForgetRate"/>, else the noise rate.</summary>
    public double EffectiveForgetRate(NoiseSpec? noise) => ForgetRate ?? noise?.Rate ?? 0;

    internal void Validate(Rules rules, string path, NoiseSpec? noise, int? epochs)
    {
        if (ForgetRate is double tau)
        {
            rules.Range($"{path}.forgetRate", tau, 0, 0.95);
        }
        else if (noise is null)
        {
            rules.Add($"{path}.forgetRate", "is required when the noise rate is unknown (no noise section).");
        }
        rules.Range($"{path}.gradualEpochs", GradualEpochs, 1, 1000);
        rules.Range($"{path}.exponent", Exponent, 0, 10, minExclusive: true);
        if (Plus)
        {
            rules.Range($"{path}.plusStartEpoch", PlusStartEpoch, 0, 1000);
        }
    }
}
