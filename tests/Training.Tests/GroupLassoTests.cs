using Training.Methods;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Tests;

public class GroupLassoTests
{
    // V rows (3, 4) and (0, 1): ‖V_1‖² = 25, ‖V_2‖² = 1. U columns (2, 0) and (0, 3): ‖U_1‖² = 4, ‖U_2‖² = 9.
    // in_1 = √26, in_2 = 1; out_1 = √13, out_2 = 3.
    private static LowRankLinear HandLayer() => LowRankLinear.FromFactors(
        tensor(new float[] { 3, 4, 0, 1 }, 2, 2),
        tensor(new float[] { 2, 0, 0, 3 }, 2, 2),
        zeros(2));

    [Fact]
    public void Penalty_HandExample_IsSumOfTailNorms()
    {
        using var layer = HandLayer();

        double penalty = GroupLasso.Penalty(layer).item<float>();

        Assert.Equal(Math.Sqrt(26) + 1 + Math.Sqrt(13) + 3, penalty, 4);
    }

    [Fact]
    public void Importance_HandExample_IsProductOfTailNorms_AndShrinkingKeepsRanksAboveThreshold()
    {
        using var layer = HandLayer();

        double[] importance = GroupLasso.Importance(layer);

        Assert.Equal(Math.Sqrt(26 * 13.0), importance[0], 4);
        Assert.Equal(3, importance[1], 4);
        Assert.Equal(2, GroupLasso.RanksToKeep(layer, 2.9));
        Assert.Equal(1, GroupLasso.RanksToKeep(layer, 3.1));
        Assert.Equal(1, GroupLasso.RanksToKeep(layer, 100)); // never below one rank
    }

    [Fact]
    public void Penalty_Gradient_MatchesHandDerivative()
    {
        // ∂/∂V_11 of (√(‖V_1‖²+‖V_2‖²) + ‖V_2‖) = V_11 / in_1 = 3/√26.
        using var layer = HandLayer();
        GroupLasso.Penalty(layer).backward();

        float grad = layer.ComponentsIn.grad!.data<float>()[0];

        Assert.Equal(3 / Math.Sqrt(26), grad, 4);
    }
}
