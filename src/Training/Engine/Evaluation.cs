using Training.Methods;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>Accuracy and nested dropout's K choice; both count on the device and read once at the end.</summary>
internal static class Evaluation
{
    private const int Batch = 1000;

    public static double Accuracy(ClassifierNetwork net, Tensor x, Tensor y)
    {
        long n = x.shape[0];
        if (n == 0)
        {
            return 0;
        }
        net.eval();
        using var noGrad = no_grad();
        using Tensor correct = zeros(1, dtype: int64, device: x.device);
        for (long start = 0; start < n; start += Batch)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(Batch, n - start);
            correct.add_(net.call(x.narrow(0, start, count)).argmax(1).eq(y.narrow(0, start, count)).sum());
        }
        net.train();
        return HostSync.Scalar(correct) / n;
    }

    /// <summary>
    /// Scores every truncation K = 1..D of the penultimate features on the validation split in one pass
    /// (logits_K = b + Σ_{j&lt;K} W[:, j]·f_j) and returns the best K, ties to the smaller K (Chen et al. 2021).
    /// </summary>
    public static (int K, double Accuracy) SelectBestK(ClassifierNetwork net, Tensor valX, Tensor valY)
    {
        net.eval();
        using var noGrad = no_grad();
        int d = net.FeatureCount;
        long n = valX.shape[0];
        var (weight, bias) = net.ClassifierWeights;
        using Tensor hits = zeros(d, dtype: int64, device: valX.device);
        for (long start = 0; start < n; start += 256)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(256, n - start);
            Tensor features = net.Features(valX.narrow(0, start, count));
            Tensor contributions = features.unsqueeze(2) * weight.t().unsqueeze(0); // count × D × C
            Tensor logits = contributions.cumsum(1) + bias;
            hits.add_(logits.argmax(2).eq(valY.narrow(0, start, count).unsqueeze(1)).sum(dim: 0));
        }
        net.train();
        double[] scores = HostSync.Longs(hits).Select(c => (double)c / Math.Max(1, n)).ToArray();
        int best = NestedDropout.BestK(scores);
        return (best, scores[best - 1]);
    }
}
