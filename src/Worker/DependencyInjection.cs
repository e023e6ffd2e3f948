using Hangfire;
using Infrastructure;
using Infrastructure.Artifacts;
using Infrastructure.Jobs;
using Infrastructure.Observability;
using Infrastructure.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Training.Engine;
using Worker.Datasets;
using Worker.Hosting;
using Worker.Jobs;
using Worker.Telemetry;

namespace Worker;

public static class DependencyInjection
{
    /// <summary>
    /// Registers the training worker: the TorchSharp engine, the <see cref="ITrainingJob"/> implementation,
    /// a Hangfire server on the training queue with one worker thread per device, and the storage sweeper.
    /// Call after <see cref="Infrastructure.DependencyInjection.AddInfrastructure"/>.
    /// </summary>
    public static IHostApplicationBuilder AddWorker(this IHostApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        WorkerOptions options = builder.Configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new();
        StorageOptions storage = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new();
        services.Configure<WorkerOptions>(builder.Configuration.GetSection(WorkerOptions.SectionName));

        services.AddSingleton(_ => new TrainingEngine(new TrainingEngineOptions { Device = options.Device, Threads = options.Threads }));
        services.AddSingleton<DatasetLoader>();
        services.AddScoped<ITrainingJob, TrainingJob>();
        services.AddScoped<VariantBuilder>();
        // Recovery: lapsed leases, lost queue entries, cancels of jobs no worker holds (safe in every worker at once).
        services.AddScoped<JobReconciler>();
        services.AddHostedService<ReconcilerService>();
        // SIGTERM: the training finishes its epoch, hands the job back, and the process exits within Worker:ShutdownTimeout.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5));
        services.AddHostedService<TorchStartupLogger>();
        // Devices and torch versions for the worker registry (GET /api/v1/workers).
        services.AddHostedService<WorkerAnnouncement>();
        // hw.gpu.memory.* gauges on a CUDA worker; nothing on CPU.
        services.AddSingleton<GpuMemoryMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<GpuMemoryMetrics>());
        // Abandoned staged files and orphaned artifact files (Storage:SweepInterval); every worker sweeps, safely at once.
        services.AddSingleton<StorageSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageSweeper>());
        // Readiness of a worker (the standalone listener's /health/ready, or the Api's with the embedded worker).
        builder.AddServiceHealthChecks()
            .AddCheck<TorchDeviceHealthCheck>("torch-device", HealthStatus.Unhealthy, [HealthChecks.ReadyTag])
            .AddCheck<HangfireServerHealthCheck>("hangfire-server", HealthStatus.Unhealthy, [HealthChecks.ReadyTag]);
        if (!Infrastructure.DependencyInjection.IsPostgres(storage))
        {
            services.AddHostedService<EmbeddedQueueRecovery>();
        }
        services.AddHangfireServer(server =>
        {
            server.ServerName = WorkerRegistry.ServerName;
            server.Queues = [Queues.Training];
            server.WorkerCount = Math.Max(1, options.Concurrency);
            // Hangfire re-checks deleted (cancelled) jobs at this interval and fires their token.
            server.CancellationCheckInterval = TimeSpan.FromSeconds(1);
            server.SchedulePollingInterval = TimeSpan.FromSeconds(1);
            server.ShutdownTimeout = options.ShutdownTimeout;
        });
        return builder;
    }

    /// <summary>Whether the Api should host the worker too (see <see cref="WorkerOptions.InProcess"/>).</summary>
    public static bool RunsWorkerInProcess(this IHostApplicationBuilder builder)
    {
        WorkerOptions options = builder.Configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>() ?? new();
        StorageOptions storage = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new();
        return options.InProcess ?? !Infrastructure.DependencyInjection.IsPostgres(storage);
    }
}
