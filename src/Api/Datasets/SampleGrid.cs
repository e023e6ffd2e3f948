using SkiaSharp;

namespace Api.Datasets;

/// <summary>
/// A dataset's <c>samples.png</c>: one row per class (the first <see cref="MaxClassesShown"/> classes) with its index,
/// name when the upload had names (CSV string labels, ZIP folders) and training-sample count, then the first
/// <see cref="PerClass"/> training samples of that class in file order, each scaled to fit a <see cref="Tile"/>-pixel
/// square (nearest-neighbour when enlarged, so pixels stay visible). Samples of shape [h, w] are grey, [3, h, w]
/// planar RGB, other [c, h, w] show channel 0, and [n] (CSV features, scaled to 0..255 at upload) is a
/// near-square grey tile read row by row, its unused cells tinted blue. The output depends only on the files,
/// so it is stored once at upload. Text needs a system font; without one (a bare container) the index and count
/// are drawn with a built-in digit font and names are left out.
/// </summary>
public static class SampleGrid
{
    /// <summary>File name in the dataset's artifact folder.</summary>
    public const string FileName = "samples.png";

    public const int PerClass = 8;
    public const int MaxClassesShown = 16;
    public const int Tile = 56;
    private const int Gap = 4;
    private const int Margin = 10;
    private const int LabelWidth = 150;
    private const int TitleHeight = 26;
    private const int FooterHeight = 22;
    private static readonly SKColor s_padding = new(0xdd, 0xe6, 0xf0);

    /// <summary>Renders the grid from an IDX image file (seekable) and its labels (one byte per sample).</summary>
    public static byte[] Render(Stream images, ReadOnlySpan<byte> labels, int classes, IReadOnlyList<string>? classNames)
    {
        IdxHeader header = Idx.ReadHeader(images, "images");
        int shown = Math.Min(classes, MaxClassesShown);
        var counts = new int[classes];
        var picked = new List<int>[shown];
        for (int c = 0; c < shown; c++)
        {
            picked[c] = [];
        }
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if (label < classes)
            {
                counts[label]++;
            }
            if (label < shown && picked[label].Count < PerClass)
            {
                picked[label].Add(i);
            }
        }

        int width = 2 * Margin + LabelWidth + PerClass * (Tile + Gap);
        int height = 2 * Margin + TitleHeight + shown * (Tile + Gap) + (classes > shown ? FooterHeight : 0);
        using SKSurface surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var text = new Text();
        string shape = string.Join('×', header.SampleShape);
        text.Draw(canvas, $"first {PerClass} training samples of each class, shape [{shape}]", Margin, Margin + 16, 14, $"{PerClass}");

        var sample = new byte[header.SampleSize];
        for (int c = 0; c < shown; c++)
        {
            int top = Margin + TitleHeight + c * (Tile + Gap);
            string name = classNames is not null && c < classNames.Count ? $" {Shorten(classNames[c])}" : "";
            text.Draw(canvas, $"{c}{name}", Margin, top + 20, 14, $"{c}");
            text.Draw(canvas, $"{counts[c]} samples", Margin, top + 40, 12, $"{counts[c]}");
            for (int k = 0; k < picked[c].Count; k++)
            {
                images.Position = header.HeaderLength + picked[c][k] * header.SampleSize;
                images.ReadExactly(sample);
                using SKBitmap bitmap = ToBitmap(sample, header.SampleShape);
                DrawTile(canvas, bitmap, Margin + LabelWidth + k * (Tile + Gap), top);
            }
        }
        if (classes > shown)
        {
            int more = classes - shown;
            text.Draw(canvas, $"+ {more} more classes not shown", Margin, height - Margin - 6, 12, $"{more}");
        }

        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static string Shorten(string name) => name.Length <= 16 ? name : name[..15] + "…";

    /// <summary>One sample as an opaque bitmap at its own size (see the class remarks for the shapes).</summary>
    private static SKBitmap ToBitmap(byte[] sample, int[] shape)
    {
        int side = (int)Math.Ceiling(Math.Sqrt(shape[0]));
        (int h, int w, bool rgb) = shape.Length switch
        {
            1 => ((shape[0] + side - 1) / side, side, false),
            2 => (shape[0], shape[1], false),
            _ => (shape[^2], shape[^1], shape.Length == 3 && shape[0] == 3),
        };
        int plane = h * w;
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> pixels = bitmap.GetPixelSpan();
        for (int p = 0; p < plane; p++)
        {
            SKColor color;
            if (shape.Length == 1 && p >= shape[0])
            {
                color = s_padding;
            }
            else if (rgb)
            {
                color = new SKColor(sample[p], sample[plane + p], sample[2 * plane + p]);
            }
            else
            {
                color = new SKColor(sample[p], sample[p], sample[p]);
            }
            pixels[4 * p] = color.Red;
            pixels[4 * p + 1] = color.Green;
            pixels[4 * p + 2] = color.Blue;
            pixels[4 * p + 3] = 255;
        }
        return bitmap;
    }

    private static void DrawTile(SKCanvas canvas, SKBitmap bitmap, int left, int top)
    {
        float scale = Math.Min((float)Tile / bitmap.Width, (float)Tile / bitmap.Height);
        float w = bitmap.Width * scale, h = bitmap.Height * scale;
        var target = SKRect.Create(left + (Tile - w) / 2, top + (Tile - h) / 2, w, h);
        SKSamplingOptions sampling = scale >= 1
            ? new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None)
            : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        using SKImage image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, target, sampling);
        using var frame = new SKPaint { Color = new SKColor(0xc0, 0xc0, 0xc0), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(SKRect.Create(left - 0.5f, top - 0.5f, Tile + 1, Tile + 1), frame);
    }

    /// <summary>Text with the default typeface, or, where the machine has no font, only the given digits in a 3×5 pixel font.</summary>
    private sealed class Text : IDisposable
    {
        // 3×5 digits, one row per 3 bits (most significant bit = left pixel).
        private static readonly int[][] s_digits =
        [
            [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
            [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
        ];

        private readonly SKTypeface _typeface = SKTypeface.Default;
        private readonly SKPaint _paint = new() { Color = SKColors.Black, IsAntialias = true };

        public void Draw(SKCanvas canvas, string text, float x, float baseline, float size, string digitsFallback)
        {
            if (_typeface.GlyphCount > 0)
            {
                using var font = new SKFont(_typeface, size);
                canvas.DrawText(text, x, baseline, SKTextAlign.Left, font, _paint);
                return;
            }
            const int pixel = 2;
            float left = x;
            foreach (char ch in digitsFallback)
            {
                int[] rows = s_digits[ch - '0'];
                for (int r = 0; r < rows.Length; r++)
                {
                    for (int bit = 0; bit < 3; bit++)
                    {
                        if ((rows[r] & (4 >> bit)) != 0)
                        {
                            canvas.DrawRect(SKRect.Create(left + bit * pixel, baseline - (5 - r) * pixel, pixel, pixel), _paint);
                        }
                    }
                }
                left += 4 * pixel;
            }
        }

        public void Dispose()
        {
            _paint.Dispose();
        }
    }
}
