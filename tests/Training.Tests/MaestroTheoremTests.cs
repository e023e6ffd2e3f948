using TorchSharp;
using Training.Methods;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Tests;

/// <summary>
/// Maestro's theorem (Horváth et al. 2024, arXiv 2308.14929, Thm. 3.1): for a linear map y = A·x with isotropic inputs,
/// ordered dropout over the rank makes every prefix U_{:b}·V_{:b} the best rank-b approximation, i.e. the learned
/// components recover A's singular subspaces in order.
/// </summary>
public class MaestroTheoremTests
{
    [Fact]
    public void OrderedDropout_LinearMap_RecoversTopSingularSubspacesInOrder()
    {
        double[] angles = TrainAndMeasure(orderedDropout: true);

        // Every prefix k = 1..4 lines up with A's top-k left and right singular subspaces (largest principal angle).
        Assert.All(angles, a => Assert.True(a < 8, $"largest principal angles (degrees): {string.Join(", ", angles)}"));
    }

    [Fact]
    public void WithoutOrderedDropout_LinearMap_FirstComponentDoesNotFindTopSingularVector()
    {
        // The control: the same training without ordered dropout fits A but leaves the components unordered.
        double[] angles = TrainAndMeasure(orderedDropout: false);

        Assert.True(angles[0] > 20, $"largest principal angles (degrees): {string.Join(", ", angles)}");
    }

    private static double[] TrainAndMeasure(bool orderedDropout)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        const int inDim = 8, outDim = 6;
        // A = P·diag(s)·Qᵀ with well separated singular values.
        Tensor p = linalg.qr(randn(outDim, outDim, dtype: float64)).Q;
        Tensor q = linalg.qr(randn(inDim, inDim, dtype: float64)).Q.narrow(1, 0, outDim);
        Tensor s = tensor(new double[] { 5, 3.5, 2.5, 1.6, 1.0, 0.5 });
        Tensor a = (p * s.unsqueeze(0)).matmul(q.t()).to(float32);

        using var layer = LowRankLinear.Create(inDim, outDim);
        using var optimizer = optim.Adam(layer.parameters(), 1e-2);
        var random = new Random(3);
        double bound = Math.Sqrt(3); // uniform on [−√3, √3]: identity covariance
        for (int step = 0; step < 2500; step++)
        {
            using var stepScope = NewDisposeScope();
            Tensor x = rand(64, inDim) * (2 * bound) - bound;
            Tensor y = x.matmul(a.t());
            layer.Truncation = orderedDropout ? OrderedDropoutSampler.Sample([outDim], "layer-rank", random)[0] : null;
            Tensor loss = (layer.call(x) - y).square().sum(1).mean();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        layer.Truncation = null;

        var angles = new double[4];
        Tensor u = layer.ComponentsOut.detach().to(float64);
        Tensor v = layer.ComponentsIn.detach().to(float64);
        for (int k = 1; k <= 4; k++)
        {
            angles[k - 1] = Math.Max(
                LargestPrincipalAngle(u.narrow(1, 0, k), p.narrow(1, 0, k)),
                LargestPrincipalAngle(v.narrow(0, 0, k).t(), q.narrow(1, 0, k)));
        }
        return angles;
    }

    /// <summary>Largest principal angle (degrees) between the column spans of <paramref name="x"/> and <paramref name="y"/>.</summary>
    private static double LargestPrincipalAngle(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        Tensor cosines = linalg.svdvals(linalg.qr(x).Q.t().matmul(linalg.qr(y).Q));
        double smallest = Math.Clamp(cosines.min().item<double>(), -1, 1);
        return Math.Acos(smallest) * 180 / Math.PI;
    }
}
