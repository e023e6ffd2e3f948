using ScottPlot;
using SkiaSharp;

namespace Api.Runs;

/// <summary>A series of points for <see cref="CurvePlot"/>, joined in the order given (rank fraction); hollow markers mark estimated values.</summary>
public sealed record PlotSeries(string Label, IReadOnlyList<(double X, double Y, bool Estimated)> Points);

/// <summary>
/// Renders a run's curves with ScottPlot: accuracy versus latency per device (left) and accuracy versus
/// parameters with the post-hoc SVD baseline when present (right), as PNG or SVG.
/// </summary>
public static class CurvePlot
{
    public const int Width = 1200;
    public const int Height = 500;

    public static byte[] Render(string title, IReadOnlyList<PlotSeries> latency, IReadOnlyList<PlotSeries> parameters, bool svg)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Fill(multiplot.GetPlot(0), $"{title}: accuracy vs latency (batch 1)", "latency (ms)", latency);
        Fill(multiplot.GetPlot(1), $"{title}: accuracy vs parameters", "parameters", parameters);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var area = new PixelRect(0, Width, Height, 0);
        if (svg)
        {
            using var stream = new MemoryStream();
            using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), stream))
            {
                multiplot.Render(canvas, area);
            }
            return stream.ToArray();
        }
        using SKSurface surface = SKSurface.Create(new SKImageInfo(Width, Height));
        surface.Canvas.Clear(SKColors.White);
        multiplot.Render(surface.Canvas, area);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Fill(Plot plot, string title, string xLabel, IReadOnlyList<PlotSeries> series)
    {
        plot.Title(title, size: 13);
        plot.XLabel(xLabel);
        plot.YLabel("test accuracy");
        foreach (PlotSeries s in series.Where(s => s.Points.Count > 0))
        {
            // Joined by rank fraction, not by x: measured latencies of neighbouring ranks can cross.
            var ordered = s.Points.ToList();
            var line = plot.Add.Scatter(ordered.Select(p => p.X).ToArray(), ordered.Select(p => p.Y).ToArray());
            line.LegendText = s.Label;
            var estimated = ordered.Where(p => p.Estimated).ToList();
            if (estimated.Count > 0)
            {
                var hollow = plot.Add.Markers(estimated.Select(p => p.X).ToArray(), estimated.Select(p => p.Y).ToArray(), MarkerShape.OpenCircle, 9, line.Color);
                hollow.LegendText = $"{s.Label} (estimated)";
            }
        }
        if (series.Any(s => s.Points.Count > 0))
        {
            plot.ShowLegend(Alignment.LowerRight);
        }
    }
}
