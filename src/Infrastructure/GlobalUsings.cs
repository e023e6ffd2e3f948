global using Domain.Artifacts;
global using Domain.Datasets;
global using Domain.Jobs;
global using Domain.Runs;
global using Microsoft.EntityFrameworkCore;
global using Domain.Variants;
global using Domain.Tenants;
