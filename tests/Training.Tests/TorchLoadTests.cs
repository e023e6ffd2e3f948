using TorchSharp;

namespace Training.Tests;

public class TorchLoadTests
{
    [Fact]
    public void Torch_MatmulOnCpu_MatchesHandComputedProduct()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        var b = torch.tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        float[] c = a.matmul(b).data<float>().ToArray();
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c);
    }
}
