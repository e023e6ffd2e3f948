using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;

namespace Api.Variants;

/// <summary>
/// Keeps a finished run's priced variants per (run, device, batch) in memory, so selection answers without
/// touching the database. A finished run's curve never changes; a device's latencies change only through
/// <c>POST /devices/{name}/latencies</c>, which calls <see cref="Invalidate"/> in this process. Other Api
/// replicas see such a change after at most <see cref="Lifetime"/>. Workers time a run before it succeeds,
/// so nothing they write can be cached yet.
/// </summary>
public sealed class VariantPriceCache(IMemoryCache cache)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, long> _deviceVersions = new(StringComparer.Ordinal);

    /// <summary>
    /// Entries are per tenant: a hit skips the loader, which is where the run's and the device's visibility
    /// to the tenant is checked, and device names resolve per tenant.
    /// </summary>
    public async Task<DeviceVariants> GetOrLoadAsync(Guid? tenantId, Guid runId, string device, int batch, Func<Task<DeviceVariants>> load)
    {
        var key = (tenantId, runId, device, batch, _deviceVersions.GetValueOrDefault(device));
        if (cache.TryGetValue(key, out DeviceVariants? cached) && cached is not null)
        {
            return cached;
        }
        // Failures (unknown run or device, unfinished run) throw and are never cached.
        DeviceVariants loaded = await load();
        cache.Set(key, loaded, Lifetime);
        return loaded;
    }

    /// <summary>Forgets every cached entry of <paramref name="device"/> (its latencies changed).</summary>
    public void Invalidate(string device) => _deviceVersions.AddOrUpdate(device, 1, (_, version) => version + 1);
}
