using System.IO.Compression;

namespace TrainingService.Sdk;

/// <summary>
/// Zips a local image folder in the layout the service's <c>zip</c> format reads: one folder per class, or
/// <c>train/</c> and <c>test/</c> folders of class folders. Only PNG and JPEG files are taken; hidden files and
/// folders (a name starting with <c>.</c>, and <c>__MACOSX</c>) are skipped, as the service skips them in an archive.
/// </summary>
internal static class ImageFolderArchive
{
    private static readonly string[] s_extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>The images under <paramref name="folder"/>: entry names (relative, '/'-separated) and paths, in ordinal order.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder holds no PNG or JPEG image.</exception>
    public static IReadOnlyList<(string Entry, string Path)> List(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The image folder '{folder}' does not exist.");
        }
        var images = new List<(string Entry, string Path)>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };
        foreach (string path in Directory.EnumerateFiles(root, "*", options))
        {
            string entry = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            if (entry.Split('/').Any(p => p.StartsWith('.') || p == "__MACOSX")
                || !s_extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            images.Add((entry, path));
        }
        if (images.Count == 0)
        {
            throw new ArgumentException($"The folder '{folder}' holds no PNG or JPEG image; put them in one sub-folder per class.", nameof(folder));
        }
        images.Sort((a, b) => string.CompareOrdinal(a.Entry, b.Entry));
        return images;
    }

    /// <summary>
    /// Writes the images as a ZIP to <paramref name="output"/>, which need not be seekable (entries then carry data
    /// descriptors), one file at a time: nothing is buffered beyond the copy buffer. The images are stored, not
    /// deflated: PNG and JPEG are compressed already.
    /// </summary>
    public static async Task WriteAsync(IReadOnlyList<(string Entry, string Path)> images, Stream output, CancellationToken cancellationToken)
    {
        await using ZipArchive zip = await ZipArchive.CreateAsync(output, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, cancellationToken);
        foreach ((string name, string path) in images)
        {
            ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
            await using FileStream source = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
            await using Stream target = await entry.OpenAsync(cancellationToken);
            await source.CopyToAsync(target, cancellationToken);
        }
    }
}
