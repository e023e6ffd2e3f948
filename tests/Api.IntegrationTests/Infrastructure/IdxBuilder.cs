using System.IO.Compression;
using Domain.Datasets;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// Generates small IDX datasets: <see cref="Classes"/> classes of <see cref="Side"/>×<see cref="Side"/> images,
/// each class a bright quadrant band on seeded noise, so a small MLP separates them in a few epochs.
/// </summary>
public sealed class IdxBuilder
{
    public int Samples { get; init; } = 400;
    public int Classes { get; init; } = 4;
    public int Side { get; init; } = 8;
    public int Seed { get; init; } = 7;

    public (byte[] Images, byte[] Labels) Build()
    {
        var random = new Random(Seed);
        var labels = new byte[Samples];
        var pixels = new byte[Samples * Side * Side];
        for (int n = 0; n < Samples; n++)
        {
            int label = n % Classes;
            labels[n] = (byte)label;
            for (int y = 0; y < Side; y++)
            {
                for (int x = 0; x < Side; x++)
                {
                    int band = (y * Classes) / Side;
                    int value = random.Next(0, 90) + (band == label ? 140 : 0);
                    pixels[(n * Side + y) * Side + x] = (byte)Math.Min(255, value);
                }
            }
        }
        return (Encode(pixels, Samples, Side, Side), Encode(labels, Samples));
    }

    /// <summary>An IDX file of unsigned bytes with the given dimensions.</summary>
    public static byte[] Encode(byte[] data, params int[] dimensions)
    {
        using var output = new MemoryStream();
        Idx.WriteHeader(output, dimensions);
        output.Write(data);
        return output.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }
}
