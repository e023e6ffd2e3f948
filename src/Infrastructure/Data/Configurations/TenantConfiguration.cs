using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal sealed class TenantConfiguration : IEntityTypeConfiguration<Tenant>
{
    public void Configure(EntityTypeBuilder<Tenant> builder)
    {
        builder.ToTable("tenants");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Name).HasMaxLength(Tenant.MaxNameLength).IsRequired();
        builder.HasIndex(t => t.Name).IsUnique();
        // Exists from the first migration on: rows written before tenancy belong to it.
        builder.HasData(new Tenant
        {
            Id = Tenant.DefaultId,
            Name = Tenant.DefaultName,
            CreatedAt = new DateTime(2026, 11, 24, 0, 0, 0, DateTimeKind.Utc),
        });
    }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Name).HasMaxLength(ApiKey.MaxNameLength).IsRequired();
        builder.Property(k => k.Hash).HasMaxLength(64).IsRequired();
        builder.Property(k => k.Prefix).HasMaxLength(16).IsRequired();
        builder.Property(k => k.Role).HasConversion<string>().HasMaxLength(16);
        builder.Ignore(k => k.IsRevoked);
        builder.HasIndex(k => k.Hash).IsUnique();
        builder.HasIndex(k => k.TenantId);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(k => k.TenantId).OnDelete(DeleteBehavior.Cascade);
    }
}
