using System.Globalization;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>
/// A separable CSV table: <see cref="Classes"/> string classes, each lifting its own feature columns above seeded
/// noise, so a small MLP separates them after 8-bit quantisation.
/// </summary>
public sealed class CsvBuilder
{
    public int Rows { get; init; } = 400;
    public int Classes { get; init; } = 4;
    public int Features { get; init; } = 8;
    public int Seed { get; init; } = 11;
    public char Delimiter { get; init; } = ',';
    public string LabelName { get; init; } = "label";

    public string Build()
    {
        var random = new Random(Seed);
        var text = new StringBuilder();
        text.AppendJoin(Delimiter, Enumerable.Range(0, Features).Select(f => $"x{f}").Append(LabelName)).Append('\n');
        for (int n = 0; n < Rows; n++)
        {
            int label = n % Classes;
            IEnumerable<string> cells = Enumerable.Range(0, Features)
                .Select(f => (random.NextDouble() * 10 - 50 + (f % Classes == label ? 8 : 0)).ToString("0.###", CultureInfo.InvariantCulture));
            text.AppendJoin(Delimiter, cells.Append($"class-{(char)('a' + label)}")).Append('\n');
        }
        return text.ToString();
    }
}

/// <summary>Image-folder ZIPs: PNGs drawn with SkiaSharp, class k a bright horizontal band k on seeded noise.</summary>
public static class ImageZipBuilder
{
    public static byte[] Build(int classes = 3, int perClass = 60, int side = 16, int seed = 5, bool split = false)
    {
        var random = new Random(seed);
        return Zip(zip =>
        {
            for (int label = 0; label < classes; label++)
            {
                for (int i = 0; i < perClass; i++)
                {
                    string folder = split ? (i % 5 == 0 ? "test/" : "train/") : "";
                    Add(zip, $"{folder}band{label}/img{i:D3}.png", Png(side, (x, y) =>
                    {
                        int band = y * classes / side;
                        byte v = (byte)Math.Min(255, random.Next(0, 90) + (band == label ? 150 : 0));
                        return new SKColor(v, (byte)(255 - v), v);
                    }));
                }
            }
        });
    }

    public static byte[] Png(int side, Func<int, int, SKColor> pixel)
    {
        using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < side; y++)
        {
            for (int x = 0; x < side; x++)
            {
                bitmap.SetPixel(x, y, pixel(x, y));
            }
        }
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static byte[] Zip(Action<ZipArchive> fill)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            fill(zip);
        }
        return output.ToArray();
    }

    public static void Add(ZipArchive zip, string name, byte[] content, CompressionLevel level = CompressionLevel.Optimal)
    {
        using Stream entry = zip.CreateEntry(name, level).Open();
        entry.Write(content);
    }
}
