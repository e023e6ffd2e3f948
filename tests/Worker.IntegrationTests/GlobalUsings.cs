global using Domain.Jobs;
global using Training.Engine;
global using Training.Export;
global using Worker.Variants;

// Torch's RNG and thread pool are process-wide, and latency runs want the cores to themselves: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
