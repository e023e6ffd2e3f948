using static TorchSharp.torch;

namespace Training.Methods;

/// <summary>
/// Sample selection of co-teaching (Han et al. 2018, "Co-teaching: Robust Training of Deep Neural Networks with
/// Extremely Noisy Labels"; bhanML/Co-teaching) and co-teaching+ (Yu et al. 2019, "How does Disagreement Help
/// Generalization against Label Corruption?"; xingruiyu/coteaching_plus).
/// </summary>
public static class CoTeaching
{
    /// <summary>R(t) = τ·min((t/T_k)^c, 1), t the number of epochs already completed in the co-teaching stage.</summary>
    public static double ForgetRate(int epoch, double tau, int gradualEpochs, double exponent = 1) =>
        tau * Math.Min(Math.Pow((double)epoch / gradualEpochs, exponent), 1.0);

    /// <summary>How many samples of a batch of <paramref name="batch"/> are kept: ⌊(1 − R)·B⌋, at least 1.</summary>
    public static int Keep(int batch, double forgetRate) => Math.Max(1, (int)Math.Floor((1 - forgetRate) * batch + 1e-9));

    /// <summary>
    /// The samples each network selects, as 0/1 weights over the batch: the <paramref name="keep"/> smallest of its own
    /// per-sample losses (ties to the earlier sample). The peer trains on them: network 1 updates on <c>Second</c>,
    /// network 2 on <c>First</c>. Shapes are fixed, so nothing is read to the host.
    /// </summary>
    public static (Tensor First, Tensor Second) SmallLoss(Tensor loss1, Tensor loss2, int keep)
    {
        using var scope = NewDisposeScope();
        int k = Math.Min(keep, (int)loss1.shape[0]);
        return (Smallest(loss1, k).MoveToOuterDisposeScope(), Smallest(loss2, k).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Co-teaching+: restrict to samples where the two networks' predictions disagree, then keep the
    /// ⌊(1 − R)·|disagreement|⌋ smallest losses of each (at least one). Falls back to plain co-teaching on the whole
    /// batch when the networks agree on every sample. Computed with masks and ranks on the device: the size of the
    /// disagreement set stays a tensor.
    /// </summary>
    public static (Tensor First, Tensor Second) Disagreement(Tensor logits1, Tensor logits2, Tensor loss1, Tensor loss2, double forgetRate)
    {
        using var scope = NewDisposeScope();
        Tensor disagree = logits1.detach().argmax(1).ne(logits2.detach().argmax(1));
        Tensor count = disagree.sum();
        Tensor domain = disagree.logical_or(count.eq(0));
        Tensor size = domain.sum().to(float64);
        Tensor keep = ((1 - forgetRate) * size + 1e-9).floor().clamp_min(1);
        return (Ranked(loss1, domain, keep).MoveToOuterDisposeScope(), Ranked(loss2, domain, keep).MoveToOuterDisposeScope());
    }

    private static Tensor Smallest(Tensor loss, int keep)
    {
        Tensor order = loss.detach().sort(stable: true).Indices.narrow(0, 0, keep);
        return zeros_like(loss, dtype: loss.dtype).index_fill_(0, order, 1);
    }

    /// <summary>1 for the samples of <paramref name="domain"/> whose loss ranks below <paramref name="keep"/> within it.</summary>
    private static Tensor Ranked(Tensor loss, Tensor domain, Tensor keep)
    {
        Tensor masked = loss.detach().masked_fill(domain.logical_not(), double.PositiveInfinity);
        Tensor order = masked.sort(stable: true).Indices;
        Tensor rank = zeros_like(order).scatter_(0, order, arange(order.shape[0], dtype: int64, device: order.device));
        return rank.lt(keep).logical_and(domain).to(loss.dtype);
    }
}
