using Microsoft.Extensions.DependencyInjection;

namespace Infrastructure.Datasets;

public static class DatasetFormatsExtensions
{
    /// <summary>Registers every <see cref="IDatasetFormat"/>: IDX files, an IDX archive, CSV and image folders.</summary>
    public static IServiceCollection AddDatasetFormats(this IServiceCollection services)
    {
        services.AddSingleton<IDatasetFormat, IdxFormat>();
        services.AddSingleton<IDatasetFormat, IdxArchiveFormat>();
        services.AddSingleton<IDatasetFormat, CsvFormat>();
        services.AddSingleton<IDatasetFormat, ImageFolderFormat>();
        return services;
    }
}
