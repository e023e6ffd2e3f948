// Trainings saturate this machine's cores and Hangfire keeps some static configuration: run classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
