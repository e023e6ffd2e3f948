using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal static class ValueConversions
{
    private static readonly ValueComparer<int[]> s_intArrayComparer = new(
        (a, b) => a != null && b != null && a.SequenceEqual(b),
        a => a.Aggregate(17, (h, v) => HashCode.Combine(h, v)),
        a => a.ToArray());

    /// <summary>Stores an int[] as comma-separated text, the same on every provider.</summary>
    public static PropertyBuilder<int[]> HasCommaSeparatedConversion(this PropertyBuilder<int[]> property, int maxLength = 2048) =>
        property.HasConversion(
                v => string.Join(',', v),
                v => v.Length == 0 ? Array.Empty<int>() : v.Split(',', StringSplitOptions.None).Select(int.Parse).ToArray(),
                s_intArrayComparer)
            .HasMaxLength(maxLength);
}
