using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal sealed class DeviceProfileConfiguration : IEntityTypeConfiguration<DeviceProfile>
{
    public void Configure(EntityTypeBuilder<DeviceProfile> builder)
    {
        builder.ToTable("device_profiles");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Name).HasMaxLength(DeviceProfile.MaxNameLength).IsRequired();
        builder.Property(d => d.Description).HasMaxLength(1000);
        builder.Property(d => d.CpuModel).HasMaxLength(200);
        builder.Property(d => d.GpuName).HasMaxLength(200);
        // Built-in names are unique among themselves; a tenant's own names are unique within the tenant
        // (DeviceService also keeps them apart from built-in names).
        builder.HasIndex(d => d.Name).IsUnique().HasFilter("\"TenantId\" IS NULL");
        builder.HasIndex(d => new { d.TenantId, d.Name }).IsUnique();
        builder.HasOne<Tenant>().WithMany().HasForeignKey(d => d.TenantId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class VariantLatencyConfiguration : IEntityTypeConfiguration<VariantLatency>
{
    public void Configure(EntityTypeBuilder<VariantLatency> builder)
    {
        builder.ToTable("variant_latencies");
        builder.HasKey(l => l.Id);
        builder.Property(l => l.Runtime).HasMaxLength(64).IsRequired();
        builder.HasIndex(l => new { l.RunId, l.RankFraction, l.DeviceProfileId, l.Batch }).IsUnique();
        builder.HasIndex(l => new { l.DeviceProfileId, l.Batch });
        builder.HasOne<Run>().WithMany().HasForeignKey(l => l.RunId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<DeviceProfile>().WithMany().HasForeignKey(l => l.DeviceProfileId).OnDelete(DeleteBehavior.Cascade);
    }
}
