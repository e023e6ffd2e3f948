using Infrastructure.Datasets;
using Microsoft.Extensions.Options;

namespace Api.Datasets;

internal static class DatasetsExtensions
{
    /// <summary>The datasets feature: its upload command and queries, the formats it reads and its limits.</summary>
    public static IServiceCollection AddDatasets(this IServiceCollection services)
    {
        services.AddScoped<DatasetUploadService>();
        services.AddScoped<DatasetQueries>();
        services.AddDatasetFormats();
        return services.AddDatasetLimits();
    }

    /// <summary>Binds <see cref="DatasetLimitsOptions"/> from <c>Datasets:Limits</c>; a setting that cannot work stops start-up.</summary>
    public static IServiceCollection AddDatasetLimits(this IServiceCollection services)
    {
        services.AddOptions<DatasetLimitsOptions>().BindConfiguration(DatasetLimitsOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatasetLimitsOptions>, LimitsValidation>();
        return services;
    }

    private sealed class LimitsValidation : IValidateOptions<DatasetLimitsOptions>
    {
        public ValidateOptionsResult Validate(string? name, DatasetLimitsOptions options)
        {
            IReadOnlyList<string> errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
