using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> builder)
    {
        builder.ToTable("datasets");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Name).HasMaxLength(200).IsRequired();
        builder.Property(d => d.Format).HasMaxLength(32).IsRequired();
        builder.Property(d => d.Shape).HasCommaSeparatedConversion();
        builder.Property(d => d.ContentHash).HasMaxLength(64).IsRequired();
        builder.Property(d => d.ArtifactPath).HasMaxLength(512).IsRequired();
        builder.Property(d => d.ClassCounts).HasCommaSeparatedConversion(maxLength: 16_000);
        builder.Property(d => d.TestClassCounts).HasCommaSeparatedConversion(maxLength: 16_000);
        builder.HasIndex(d => new { d.TenantId, d.ContentHash });
        builder.HasOne<Tenant>().WithMany().HasForeignKey(d => d.TenantId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(d => new { d.TenantId, d.CreatedAt });
    }
}
