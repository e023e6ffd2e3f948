using System.ComponentModel.DataAnnotations;
using Domain.Common;

namespace Domain.Jobs;

/// <summary>The network: an MLP or a small CNN whose layers are factorised U·V (Maestro) unless <see cref="LowRank"/> is false.</summary>
public sealed record ModelSpec
{
    /// <summary>Largest width of a hidden layer, and largest <see cref="MaxRank"/>.</summary>
    public const int MaxLayerWidth = 16384;

    /// <summary>Most hidden layers an MLP may have.</summary>
    public const int MaxHiddenLayers = 8;

    /// <summary>Most output channels of a convolution.</summary>
    public const int MaxChannels = 1024;

    /// <summary><c>mlp</c> or <c>cnn</c>.</summary>
    public string Kind { get; init; } = ModelKinds.Mlp;

    /// <summary>Hidden layer widths of the MLP (the CNN's fully connected head for <c>cnn</c>).</summary>
    [Length(1, MaxHiddenLayers)]
    public IReadOnlyList<int> Hidden { get; init; } = [256, 128];

    /// <summary>Convolution channels for <c>cnn</c>; null picks the architecture's default.</summary>
    public IReadOnlyList<int>? Channels { get; init; }

    /// <summary>Upper bound on every factorised layer's rank; null keeps the full rank min(in, out).</summary>
    [Range(1, MaxLayerWidth)]
    public int? MaxRank { get; init; }

    /// <summary>False trains the dense baseline of the same architecture.</summary>
    public bool LowRank { get; init; } = true;

    internal void Validate(Rules rules, string path, IReadOnlyList<int>? inputShape)
    {
        rules.OneOf($"{path}.kind", Kind, ModelKinds.All);
        if (Hidden is null || Hidden.Count == 0)
        {
            rules.Add($"{path}.hidden", "must list at least one hidden layer width.");
        }
        else if (Hidden.Count > MaxHiddenLayers)
        {
            rules.Add($"{path}.hidden", $"may have at most {MaxHiddenLayers} layers (had {Hidden.Count}).");
        }
        else
        {
            for (int i = 0; i < Hidden.Count; i++)
            {
                rules.Range($"{path}.hidden[{i}]", Hidden[i], 1, MaxLayerWidth);
            }
        }
        if (Channels is not null)
        {
            if (Kind != ModelKinds.Cnn)
            {
                rules.Add($"{path}.channels", "applies only to model kind 'cnn'.");
            }
            for (int i = 0; i < Channels.Count; i++)
            {
                rules.Range($"{path}.channels[{i}]", Channels[i], 1, MaxChannels);
            }
        }
        if (MaxRank is int maxRank)
        {
            rules.Range($"{path}.maxRank", maxRank, 1, MaxLayerWidth);
            if (!LowRank)
            {
                rules.Add($"{path}.maxRank", "applies only to low-rank models (lowRank is false).");
            }
            else if (Hidden is { Count: > 0 } && Hidden.All(h => h is >= 1 and <= MaxLayerWidth) && maxRank >= 1)
            {
                int largest = LargestRank(inputShape);
                if (maxRank > largest)
                {
                    rules.Add($"{path}.maxRank", $"is larger than the largest layer rank min(in, out) = {largest}.");
                }
            }
        }
        if (Kind == ModelKinds.Cnn && inputShape is not null && inputShape.Count == 1)
        {
            rules.Add($"{path}.kind", "'cnn' needs image data (a dataset with 2 or 3 dimensions per sample).");
        }
    }

    /// <summary>The largest min(in, out) over the MLP's linear layers, the bound a rank can reach.</summary>
    private int LargestRank(IReadOnlyList<int>? inputShape)
    {
        int input = inputShape is null ? int.MaxValue : inputShape.Aggregate(1, (a, b) => a * b);
        int largest = 0;
        int previous = input;
        foreach (int width in Hidden)
        {
            largest = Math.Max(largest, Math.Min(previous, width));
            previous = width;
        }
        return largest;
    }
}

public static class ModelKinds
{
    public const string Mlp = "mlp";
    public const string Cnn = "cnn";
    public static readonly string[] All = [Mlp, Cnn];
}
