using TorchSharp;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Tests;

public class LowRankLayerTests
{
    [Fact]
    public void LowRankLinear_TruncatedToB_EqualsFullPassWithLaterComponentsZeroed()
    {
        // Arrange
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        using var layer = LowRankLinear.Create(12, 9);
        Tensor x = randn(5, 12);
        const int b = 3;
        Tensor v = layer.ComponentsIn.detach().clone();
        Tensor u = layer.ComponentsOut.detach().clone();
        v.narrow(0, b, v.shape[0] - b).zero_();
        u.narrow(1, b, u.shape[1] - b).zero_();
        Tensor bias = layer.parameters().Last().detach();
        using var zeroed = LowRankLinear.FromFactors(v, u, bias);

        // Act
        layer.Truncation = b;
        Tensor truncated = layer.call(x);
        Tensor reference = zeroed.call(x);

        // Assert
        Assert.Equal(9, layer.FullRank);
        Assert.True(truncated.allclose(reference, rtol: 0, atol: 1e-6));
        layer.Truncation = null;
        Assert.False(layer.call(x).allclose(reference, rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void LowRankConv2d_TruncatedToB_EqualsFullPassWithLaterChannelsZeroed()
    {
        // Arrange: r = min(out, in·k²) = min(8, 3·9) = 8.
        using var scope = NewDisposeScope();
        torch.manual_seed(12);
        using var layer = LowRankConv2d.Create(3, 8, 3);
        Tensor x = randn(2, 3, 7, 7);
        const int b = 5;

        // Act
        layer.Truncation = b;
        Tensor truncated = layer.call(x);
        layer.Truncation = null;
        using (no_grad())
        {
            foreach (var (name, p) in layer.named_parameters())
            {
                if (name == "v") { p.narrow(0, b, 3).zero_(); }
                if (name == "u") { p.narrow(1, b, 3).zero_(); }
            }
        }
        Tensor reference = layer.call(x);

        // Assert
        Assert.Equal(8, layer.FullRank);
        Assert.Equal([2L, 8, 5, 5], truncated.shape);
        Assert.True(truncated.allclose(reference, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void FromDense_FullRank_ReproducesDenseLayerAndOrdersSingularValues()
    {
        // Arrange
        using var scope = NewDisposeScope();
        torch.manual_seed(13);
        using var dense = nn.Linear(10, 6);
        using var conv = nn.Conv2d(2, 4, 3);
        Tensor x = randn(4, 10);
        Tensor images = randn(4, 2, 6, 6);

        // Act
        using var factorised = LowRankLinear.FromDense(dense.weight!, dense.bias);
        using var factorisedConv = LowRankConv2d.FromDense(conv.weight!, conv.bias, 0);
        double[] importance = Methods.GroupLasso.Importance(factorised);

        // Assert: U·V = W exactly (up to float error), and the components come in decreasing order.
        Assert.True(factorised.call(x).allclose(dense.call(x), rtol: 0, atol: 1e-5));
        Assert.True(factorisedConv.call(images).allclose(conv.call(images), rtol: 0, atol: 1e-5));
        Assert.Equal(importance.OrderByDescending(v => v), importance);
        Tensor rowNorms = factorised.ComponentsIn.square().sum(1);
        Assert.Equal(rowNorms.data<float>().ToArray().OrderByDescending(v => v), rowNorms.data<float>().ToArray());
    }

    [Fact]
    public void ClassifierNetwork_Shrunk_PhysicallyRemovesComponentsAndKeepsOutputs()
    {
        // Arrange
        using var scope = NewDisposeScope();
        torch.manual_seed(14);
        var model = new ModelSpec { Kind = ModelKinds.Cnn, Hidden = [16], Channels = [4, 6] };
        using var net = ClassifierNetwork.Create(model, [16, 16], 3);
        Tensor x = rand(2, 256);
        var layers = net.Factorized;
        layers[0].ActiveRank = 2;
        layers[2].ActiveRank = 5;

        // Act
        Tensor expected = net.call(x);
        using var shrunk = net.Shrunk();

        // Assert
        Assert.Equal([2, 6, 5], shrunk.Factorized.Select(l => (int)l.ComponentsIn.shape[0]));
        Assert.True(shrunk.call(x).allclose(expected, rtol: 0, atol: 1e-5));
        Assert.Equal(net.ParameterCount(), shrunk.parameters().Sum(p => p.numel()));
        Assert.True(shrunk.ParameterCount() < net.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void ToFactorized_DenseCnn_ReproducesOutputsAtFullRank()
    {
        // Arrange
        using var scope = NewDisposeScope();
        torch.manual_seed(15);
        var model = new ModelSpec { Kind = ModelKinds.Cnn, Hidden = [32], LowRank = false };
        using var dense = ClassifierNetwork.Create(model, [28, 28], 10);
        Tensor x = rand(16, 784);

        // Act
        using var factorised = dense.ToFactorized();

        // Assert
        Assert.Equal([20, 50, 32], factorised.Factorized.Select(l => l.FullRank));
        Tensor expected = dense.call(x);
        Tensor actual = factorised.call(x);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void DenseConv2d_AfterFloat64Svd_HasNoNaN()
    {
        // libtorch's CPU conv2d returned NaNs for this shape after a float64 SVD on the CI host; the engine's
        // im2col convolutions must not.
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        using var conv = DenseConv2d.Create(20, 50, 5);
        using var factorised = LowRankConv2d.FromDense(conv.Weight, conv.Bias, 0);
        var (p, s, q) = linalg.svd(randn(50, 500, dtype: float64), fullMatrices: false);

        for (int i = 0; i < 4; i++)
        {
            Tensor x = rand(4, 20, 12, 12);
            Tensor dense = conv.call(x);
            Assert.Equal(0, dense.isnan().sum().item<long>());
            Assert.True(factorised.call(x).allclose(dense, rtol: 1e-4, atol: 1e-5));
        }
    }

    [Fact]
    public void DenseConv2d_MatchesTorchConv2dWithTheSameWeights()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        using var conv = DenseConv2d.Create(3, 5, 3);
        Tensor x = rand(2, 3, 7, 7);

        Tensor expected = nn.functional.conv2d(x, conv.Weight, conv.Bias);

        Assert.True(conv.call(x).allclose(expected, rtol: 1e-4, atol: 1e-5));
    }
}
