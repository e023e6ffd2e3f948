global using Domain.Jobs;
global using Training.Engine;

// Torch's RNG and thread pool are process-wide: tests that seed it must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
