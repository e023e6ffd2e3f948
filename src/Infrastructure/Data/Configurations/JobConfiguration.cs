using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Infrastructure.Data.Configurations;

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> builder)
    {
        builder.ToTable("jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.SpecJson).IsRequired();
        builder.Property(j => j.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(j => j.IdempotencyKey).HasMaxLength(200);
        builder.Property(j => j.RequestHash).HasMaxLength(64);
        builder.Property(j => j.QueueJobId).HasMaxLength(64);
        builder.Property(j => j.Error).HasMaxLength(4000);
        builder.Property(j => j.LeaseOwner).HasMaxLength(200);
        // Every tracked update of a job row is conditional on the fencing token it read (see JobLeases).
        builder.Property(j => j.LeaseToken).IsConcurrencyToken();
        builder.Ignore(j => j.IsFinished);
        builder.HasIndex(j => new { j.TenantId, j.IdempotencyKey }).IsUnique();
        builder.HasIndex(j => new { j.TenantId, j.CreatedAt });
        builder.HasIndex(j => new { j.Status, j.CreatedAt });
        builder.HasIndex(j => new { j.Status, j.LeaseExpiresAt });
        builder.HasOne<Tenant>().WithMany().HasForeignKey(j => j.TenantId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Dataset>().WithMany().HasForeignKey(j => j.DatasetId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(j => j.Runs).WithOne().HasForeignKey(r => r.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
