using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Api.IntegrationTests;

/// <summary>
/// Replays every case of <c>BadInputCorpus/corpus.json</c> (malformed IDX, CSV and image-folder ZIP uploads, raw
/// bodies and job specs) and checks the ProblemDetails answer and that nothing was stored: no dataset, job, run or
/// artifact rows and no file under the artifact root (the staging area included).
/// </summary>
public abstract class BadInputCorpusTests<TApi>(TApi api) where TApi : ApiFactory
{
    /// <summary>The dataset job specs refer to: 40 samples of 4×4, classes 0..3 (<c>valid/</c>).</summary>
    private const string ValidDatasetName = "bad-input-corpus-valid";

    public static TheoryData<string> Cases() => new(BadInputCorpus.Cases.Select(c => c.Id));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Send_CorpusCase_ReturnsExpectedProblemAndStoresNothing(string id)
    {
        CorpusCase corpusCase = BadInputCorpus.Case(id);
        Guid datasetId = corpusCase.Target == "jobs" ? await ValidDatasetIdAsync() : Guid.Empty;
        StorageSnapshot before = await StorageSnapshot.TakeAsync(api);

        (HttpStatusCode status, string? mediaType, string body) = await SendAsync(corpusCase, datasetId);

        Assert.True((int)status == corpusCase.Status, $"{id}: expected {corpusCase.Status}, got {(int)status}: {body}");
        Assert.Equal("application/problem+json", mediaType);
        JsonElement problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(corpusCase.Status, problem.GetProperty("status").GetInt32());
        IEnumerable<string> messages = corpusCase.Field is null
            ? [problem.GetProperty("title").GetString() ?? "", problem.TryGetProperty("detail", out JsonElement detail) ? detail.GetString() ?? "" : ""]
            : problem.TryGetProperty("errors", out JsonElement errors) && errors.TryGetProperty(corpusCase.Field, out JsonElement field)
                ? field.EnumerateArray().Select(m => m.GetString() ?? "")
                : throw new Xunit.Sdk.XunitException($"{id}: expected an error for '{corpusCase.Field}': {body}");
        Assert.True(messages.Any(m => m.Contains(corpusCase.Reason, StringComparison.OrdinalIgnoreCase)),
            $"{id}: expected '{corpusCase.Reason}' in {corpusCase.Field ?? "the title or detail"}: {body}");
        Assert.Equal(before, await StorageSnapshot.TakeAsync(api));
    }


    /// <summary>
    /// Sends the case and reads the answer: through an Api with the case's settings (a lower upload limit…) when it has any, and straight
    /// into the TestServer's HttpContext when it sends a header with a blank value, which TestServer's HttpClient
    /// handler drops (Kestrel passes it on).
    /// </summary>
    private async Task<(HttpStatusCode Status, string? MediaType, string Body)> SendAsync(CorpusCase corpusCase, Guid datasetId)
    {
        using HttpRequestMessage request = BadInputCorpus.CreateRequest(corpusCase, datasetId);
        if (corpusCase.Headers?.Values.Any(string.IsNullOrWhiteSpace) == true)
        {
            return await SendToContextAsync(request);
        }
        var settings = new Dictionary<string, string>(corpusCase.Settings ?? [], StringComparer.Ordinal);
        if (corpusCase.MaxUploadBytes is long limit)
        {
            settings["Api:MaxUploadBytes"] = limit.ToString(CultureInfo.InvariantCulture);
        }
        if (settings.Count == 0)
        {
            return await ReadAsync(api.CreateClient(), request);
        }
        // Same database and artifact root, so the snapshot covers it; no worker, since nothing is trained.
        await using WebApplicationFactory<Program> limited = api.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Worker:InProcess", "false");
            foreach ((string key, string value) in settings)
            {
                builder.UseSetting(key, value);
            }
        });
        using HttpClient client = limited.CreateClient();
        // Whatever the fixture's clients carry by default (credentials) applies here too, unless the derived factory adds it already.
        foreach ((string name, IEnumerable<string> values) in api.CreateClient().DefaultRequestHeaders)
        {
            if (!client.DefaultRequestHeaders.Contains(name))
            {
                client.DefaultRequestHeaders.TryAddWithoutValidation(name, values);
            }
        }
        return await ReadAsync(client, request);
    }

    /// <summary>The request as an HttpContext of the fixture's TestServer, with the fixture's default headers (credentials).</summary>
    private async Task<(HttpStatusCode, string?, string)> SendToContextAsync(HttpRequestMessage request)
    {
        byte[] body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync();
        IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers = api.CreateClient().DefaultRequestHeaders
            .Concat(request.Headers)
            .Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>());
        HttpContext context = await api.Server.SendAsync(c =>
        {
            c.Request.Method = request.Method.Method;
            c.Request.Path = request.RequestUri!.OriginalString;
            foreach ((string name, IEnumerable<string> values) in headers)
            {
                // The indexer keeps a single empty value, unlike the Append that TestServer's client handler uses.
                c.Request.Headers[name] = values.ToArray();
            }
            c.Request.Body = new MemoryStream(body);
        });
        using var reader = new StreamReader(context.Response.Body);
        string? mediaType = context.Response.ContentType is { } contentType ? MediaTypeHeaderValue.Parse(contentType).MediaType : null;
        return ((HttpStatusCode)context.Response.StatusCode, mediaType, await reader.ReadToEndAsync());
    }

    private static async Task<(HttpStatusCode, string?, string)> ReadAsync(HttpClient client, HttpRequestMessage request)
    {
        using HttpResponseMessage response = await client.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The valid corpus dataset, uploaded on first use by this fixture.</summary>
    private async Task<Guid> ValidDatasetIdAsync()
    {
        HttpClient client = api.CreateClient();
        JsonElement page = await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets?limit=500");
        foreach (JsonElement dataset in page.GetProperty("items").EnumerateArray())
        {
            if (dataset.GetProperty("name").GetString() == ValidDatasetName)
            {
                return dataset.GetProperty("id").GetGuid();
            }
        }
        var form = new MultipartFormDataContent
        {
            { new StringContent(ValidDatasetName), "name" },
            { new ByteArrayContent(BadInputCorpus.Read("valid/images.idx")), "images", "images.idx" },
            { new ByteArrayContent(BadInputCorpus.Read("valid/labels.idx")), "labels", "labels.idx" },
        };
        using HttpResponseMessage response = await client.PostAsync("/api/v1/datasets", form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>Rows of every tenant (query filters off) and the files under the artifact root.</summary>
    private sealed record StorageSnapshot(int Datasets, int Jobs, int Runs, int Artifacts, string Files)
    {
        public static async Task<StorageSnapshot> TakeAsync(ApiFactory api) => new(
            await api.WithDbAsync(db => db.Datasets.IgnoreQueryFilters().CountAsync()),
            await api.WithDbAsync(db => db.Jobs.IgnoreQueryFilters().CountAsync()),
            await api.WithDbAsync(db => db.Runs.IgnoreQueryFilters().CountAsync()),
            await api.WithDbAsync(db => db.Artifacts.IgnoreQueryFilters().CountAsync()),
            string.Join('\n', api.ArtifactFiles()));
    }
}

public sealed class SqliteBadInputCorpusTests(SqliteApi api) : BadInputCorpusTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresBadInputCorpusTests(PostgresApi api) : BadInputCorpusTests<PostgresApi>(api), IClassFixture<PostgresApi>;

/// <summary>The corpus itself: large enough, and every file in it is used by a case (so none rots unnoticed).</summary>
public sealed class BadInputCorpusManifestTests
{
    private static readonly string[] s_notCaseFiles = [BadInputCorpus.ManifestName, "README.md"];

    [Fact]
    public void Manifest_HasAtLeastFortyCasesWithUniqueIds()
    {
        IReadOnlyList<CorpusCase> cases = BadInputCorpus.Cases;

        Assert.True(cases.Count >= 40, $"the corpus has {cases.Count} cases; at least 40 are required.");
        Assert.Equal(cases.Count, cases.Select(c => c.Id).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Manifest_EveryCaseIsComplete()
    {
        Assert.All(BadInputCorpus.Cases, c =>
        {
            Assert.Contains(c.Target, new[] { "datasets", "jobs" });
            Assert.InRange(c.Status, 400, 499);
            Assert.False(string.IsNullOrWhiteSpace(c.Reason), c.Id);
            Assert.False(string.IsNullOrWhiteSpace(c.Description), c.Id);
            // Either a raw body or a multipart form, never both.
            Assert.True(c.Body is null != (c.Form is null && c.Files is null), $"{c.Id}: set either body or form/files.");
        });
    }

    [Fact]
    public void CorpusFolder_EveryFileIsReferencedAndEveryReferenceExists()
    {
        HashSet<string> referenced = BadInputCorpus.Cases.SelectMany(BadInputCorpus.ReferencedPaths).ToHashSet(StringComparer.Ordinal);
        // The job specs' dataset (valid/images.idx, valid/labels.idx) is uploaded by the test itself.
        referenced.UnionWith(["valid/images.idx", "valid/labels.idx"]);
        HashSet<string> present = Directory.EnumerateFiles(BadInputCorpus.Folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(BadInputCorpus.Folder, f).Replace('\\', '/'))
            .Where(f => !s_notCaseFiles.Contains(f) && !Path.GetFileName(f).StartsWith('.'))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(present.Except(referenced).Order());
        Assert.Empty(referenced.Except(present).Order());
    }
}
