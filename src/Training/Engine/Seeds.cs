namespace Training.Engine;

/// <summary>
/// Derives independent, reproducible seeds from the run's seed, so that every epoch's shuffling and sampling
/// depends only on (seed, epoch) and a resumed run draws exactly what an uninterrupted one would.
/// </summary>
internal static class Seeds
{
    public const int Init = 1;
    public const int Epoch = 2;
    public const int Split = 3;
    public const int Subset = 4;

    /// <summary>SplitMix64 over the inputs, folded to a non-negative int.</summary>
    public static int Derive(int seed, int purpose, int index = 0, int salt = 0)
    {
        ulong z = (ulong)(uint)seed;
        foreach (int part in new[] { purpose, index, salt })
        {
            z += 0x9E3779B97F4A7C15UL + (ulong)(uint)part;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
        }
        return (int)(z & 0x7FFFFFFF);
    }
}
