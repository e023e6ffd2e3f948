using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>
/// Convolution as unfold (im2col) + batched matrix product. The engine's convolutions avoid libtorch's CPU conv2d:
/// on this project's AVX-512 CI host, libtorch 2.x (TorchSharp 0.107) conv2d returned NaN outputs and gradients
/// for some shapes after a float64 LAPACK SVD had run in the same process (reproduced in
/// <c>LowRankLayerTests.DenseConv2d_AfterFloat64Svd_HasNoNaN</c>); the matrix-product path is unaffected.
/// </summary>
internal static class Im2Col
{
    /// <summary>Columns of every k×k patch: N × (C·k·k) × L, with the output height and width.</summary>
    public static (Tensor Columns, long Height, long Width) Unfold(Tensor input, int kernelSize, int padding)
    {
        long height = input.shape[2] + 2 * padding - kernelSize + 1;
        long width = input.shape[3] + 2 * padding - kernelSize + 1;
        return (functional.unfold(input, kernelSize, padding: padding), height, width);
    }

    /// <summary>(N × rows × L) → (N × rows × H × W).</summary>
    public static Tensor Fold(Tensor columns, long height, long width) =>
        columns.view(columns.shape[0], columns.shape[1], height, width);
}
