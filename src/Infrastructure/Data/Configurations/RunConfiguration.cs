using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal sealed class RunConfiguration : IEntityTypeConfiguration<Run>
{
    public void Configure(EntityTypeBuilder<Run> builder)
    {
        builder.ToTable("runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.Device).HasMaxLength(64);
        builder.Property(r => r.ModelSelection).HasMaxLength(32);
        builder.HasIndex(r => new { r.JobId, r.Index }).IsUnique();
        builder.HasIndex(r => new { r.TenantId, r.StartedAt });
        builder.HasOne<Tenant>().WithMany().HasForeignKey(r => r.TenantId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(r => r.Metrics).WithOne().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(r => r.Curve).WithOne().HasForeignKey(c => c.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EpochMetricConfiguration : IEntityTypeConfiguration<EpochMetric>
{
    public void Configure(EntityTypeBuilder<EpochMetric> builder)
    {
        builder.ToTable("epoch_metrics");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Stage).HasMaxLength(32);
        builder.HasIndex(m => new { m.RunId, m.Epoch }).IsUnique();
    }
}

internal sealed class CurvePointConfiguration : IEntityTypeConfiguration<CurvePoint>
{
    public void Configure(EntityTypeBuilder<CurvePoint> builder)
    {
        builder.ToTable("curve_points");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Ranks).HasCommaSeparatedConversion();
        builder.HasIndex(c => new { c.RunId, c.RankFraction }).IsUnique();
    }
}

internal sealed class ArtifactConfiguration : IEntityTypeConfiguration<Artifact>
{
    public void Configure(EntityTypeBuilder<Artifact> builder)
    {
        builder.ToTable("artifacts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Kind).HasMaxLength(32).IsRequired();
        builder.Property(a => a.Path).HasMaxLength(512).IsRequired();
        builder.Property(a => a.Sha256).HasMaxLength(64).IsRequired();
        builder.HasIndex(a => a.Path).IsUnique();
        builder.HasIndex(a => new { a.RunId, a.Kind, a.Epoch });
        builder.HasIndex(a => new { a.RunId, a.Kind, a.RankFraction });
        builder.HasIndex(a => a.DatasetId);
    }
}
