using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Serialization;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>One file part of a corpus upload: the form field and the file's path relative to the corpus folder.</summary>
public sealed record CorpusFile(string Field, string Path);

/// <summary>
/// One malformed request of <c>BadInputCorpus/corpus.json</c>: where it goes, what it sends and the problem the Api
/// must answer with. A request is either a multipart upload built from <see cref="Form"/> and <see cref="Files"/>,
/// or a raw <see cref="Body"/> file sent with <see cref="ContentType"/>.
/// </summary>
public sealed record CorpusCase
{
    /// <summary>Unique name: the kind (<c>idx</c>, <c>csv</c>, <c>zip</c>, <c>http</c>, <c>limit</c>, <c>job</c>) and what is wrong.</summary>
    public required string Id { get; init; }

    /// <summary><c>datasets</c> (POST /api/v1/datasets) or <c>jobs</c> (POST /api/v1/jobs).</summary>
    public required string Target { get; init; }

    public required string Description { get; init; }

    /// <summary>Text fields of a multipart upload (<c>name</c>, <c>format</c>, <c>labelColumn</c>, <c>width</c>…).</summary>
    public Dictionary<string, string>? Form { get; init; }

    /// <summary>File parts of a multipart upload, in the order they are sent (a field may repeat).</summary>
    public IReadOnlyList<CorpusFile>? Files { get; init; }

    /// <summary>A file sent as the whole body; <see cref="BadInputCorpus.DatasetIdPlaceholder"/> in it is replaced by a valid dataset id.</summary>
    public string? Body { get; init; }

    public string? ContentType { get; init; }

    public Dictionary<string, string>? Headers { get; init; }

    /// <summary>Runs the case against an Api whose <c>Api:MaxUploadBytes</c> is this low.</summary>
    public long? MaxUploadBytes { get; init; }

    /// <summary>Other settings of the Api the case runs against (e.g. <c>Datasets:Limits:MaxConvertedBytes</c>), by configuration key.</summary>
    public Dictionary<string, string>? Settings { get; init; }

    /// <summary>The expected HTTP status.</summary>
    public required int Status { get; init; }

    /// <summary>The key the ProblemDetails' <c>errors</c> must have; null for a problem without field errors.</summary>
    public string? Field { get; init; }

    /// <summary>A fragment of one of <see cref="Field"/>'s messages, or of the title or detail when there is no field.</summary>
    public required string Reason { get; init; }

    public override string ToString() => Id;
}

/// <summary>The bad-input corpus copied next to the test assembly: <c>corpus.json</c> and the files it names.</summary>
public static class BadInputCorpus
{
    public const string DatasetIdPlaceholder = "{{datasetId}}";

    public const string ManifestName = "corpus.json";

    private static readonly JsonSerializerOptions s_manifestJson = new(JsonSerializerDefaults.Web)
    {
        // A misspelt key in the manifest would silently drop part of a case.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly Lazy<IReadOnlyList<CorpusCase>> s_cases = new(Load);

    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "BadInputCorpus");

    public static IReadOnlyList<CorpusCase> Cases => s_cases.Value;

    public static CorpusCase Case(string id) => Cases.Single(c => c.Id == id);

    public static byte[] Read(string path) => File.ReadAllBytes(Path.Combine(Folder, path));

    /// <summary>Every path a case refers to (files and bodies), relative to the corpus folder with '/' separators.</summary>
    public static IEnumerable<string> ReferencedPaths(CorpusCase c) =>
        (c.Files ?? []).Select(f => f.Path).Concat(c.Body is null ? [] : [c.Body]);

    /// <summary>The request the case describes, with <paramref name="datasetId"/> in place of the placeholder.</summary>
    public static HttpRequestMessage CreateRequest(CorpusCase c, Guid datasetId)
    {
        HttpContent content;
        if (c.Body is not null)
        {
            byte[] body = Read(c.Body);
            if (c.Target == "jobs")
            {
                body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace(DatasetIdPlaceholder, datasetId.ToString(), StringComparison.Ordinal));
            }
            content = new ByteArrayContent(body);
            if (c.ContentType is not null)
            {
                // Without validation: some cases send a deliberately incomplete media type.
                content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            }
        }
        else
        {
            var form = new MultipartFormDataContent();
            foreach ((string field, string value) in c.Form ?? [])
            {
                form.Add(new StringContent(value), field);
            }
            foreach (CorpusFile file in c.Files ?? [])
            {
                var part = new ByteArrayContent(Read(file.Path));
                part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(part, file.Field, Path.GetFileName(file.Path));
            }
            content = form;
        }
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/{c.Target}") { Content = content };
        foreach ((string name, string value) in c.Headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    private static IReadOnlyList<CorpusCase> Load()
    {
        using FileStream manifest = File.OpenRead(Path.Combine(Folder, ManifestName));
        return JsonSerializer.Deserialize<Manifest>(manifest, s_manifestJson)?.Cases
            ?? throw new InvalidDataException($"{ManifestName} has no cases.");
    }

    private sealed record Manifest(IReadOnlyList<CorpusCase> Cases);
}
