using Domain.Datasets;
using Domain.Jobs;

namespace Api.IntegrationTests;

public sealed class OpenApiTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task SwaggerDocument_ListsEveryEndpointWithSummaries()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement paths = document.GetProperty("paths");
        string[] expected =
        [
            "/api/v1/datasets", "/api/v1/datasets/{id}", "/api/v1/jobs", "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/cancel", "/api/v1/runs", "/api/v1/runs/{id}", "/api/v1/runs/{id}/curve",
        ];
        Assert.All(expected, path => Assert.True(paths.TryGetProperty(path, out _), $"missing {path}"));
        Assert.All(paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject()),
            operation => Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()), operation.Name));
    }

    [Fact]
    public async Task SwaggerDocument_EveryOperation_HasExamplesAnd401AndDocumentedErrors()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        var missing = new List<string>();
        foreach (JsonProperty path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (JsonProperty operation in path.Value.EnumerateObject())
            {
                string id = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                JsonElement responses = operation.Value.GetProperty("responses");
                if (!responses.TryGetProperty("401", out JsonElement unauthorized) || !HasExample(unauthorized))
                {
                    missing.Add($"{id}: 401 with an example");
                }
                if (operation.Value.TryGetProperty("requestBody", out JsonElement body) && body.GetProperty("content").TryGetProperty("application/json", out JsonElement json)
                    && !json.TryGetProperty("example", out _))
                {
                    missing.Add($"{id}: request example");
                }
                foreach (JsonProperty response in responses.EnumerateObject())
                {
                    bool jsonBody = response.Value.TryGetProperty("content", out JsonElement content)
                        && content.EnumerateObject().Any(c => c.Name.Contains("json", StringComparison.Ordinal));
                    if (jsonBody && !HasExample(response.Value))
                    {
                        missing.Add($"{id}: {response.Name} response example");
                    }
                }
            }
        }
        Assert.True(missing.Count == 0, string.Join('\n', missing));

        // The examples are the API's own types: the job spec example is what SubmitJob accepts.
        JsonElement submit = document.GetProperty("paths").GetProperty("/api/v1/jobs").GetProperty("post");
        JsonElement spec = submit.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("example");
        Assert.Equal("mlp", spec.GetProperty("model").GetProperty("kind").GetString());
        Assert.Equal("Queued", submit.GetProperty("responses").GetProperty("202").GetProperty("content")
            .GetProperty("application/json").GetProperty("example").GetProperty("status").GetString());
        HttpClient client = api.CreateClient();
        Guid dataset = await ApiClient.UploadDatasetAsync(client);
        string specBody = spec.GetRawText().Replace(spec.GetProperty("datasetId").GetString()!, dataset.ToString(), StringComparison.Ordinal);
        using HttpResponseMessage accepted = await client.PostAsync("/api/v1/jobs", new StringContent(specBody, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        Guid job = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await client.PostAsync($"/api/v1/jobs/{job}/cancel", null)).Dispose();
    }

    [Theory]
    [InlineData("MultiSampleDropoutSpec", "samples", 8.0, 1.0, 64.0, "")]
    [InlineData("MultiSampleDropoutSpec", "rate", 0.5, 0.0, 0.95, "exclusiveMaximum")]
    [InlineData("ElrSpec", "lambda", 3.0, 0.0, 100.0, "exclusiveMinimum")]
    [InlineData("ElrSpec", "beta", 0.7, 0.0, 1.0, "exclusiveMaximum")]
    [InlineData("CompanderSpec", "bound", 3.0, 2.0, 100.0, "")]
    [InlineData("CompanderSpec", "gain", 2.0, 1.0, 10.0, "exclusiveMinimum")]
    [InlineData("SubsetSpec", "fraction", 0.3, 0.0, 1.0, "exclusiveMinimum")]
    [InlineData("SubsetSpec", "partitions", 8.0, 1.0, 4096.0, "")]
    [InlineData("SubsetSpec", "reselectEvery", 5.0, 1.0, 1000.0, "")]
    [InlineData("SubsetSpec", "warmStartEpochs", 1.0, 0.0, 1000.0, "")]
    public async Task SwaggerDocument_JobSpecMethodSections_ShowDefaultsBoundsAndDescriptions(
        string schema, string property, double @default, double minimum, double maximum, string exclusive)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement section = document.GetProperty("components").GetProperty("schemas").GetProperty(schema);
        JsonElement field = section.GetProperty("properties").GetProperty(property);
        Assert.True(field.TryGetProperty("default", out JsonElement value), field.GetRawText());
        Assert.Equal(@default, value.GetDouble());
        Assert.Equal(minimum, field.GetProperty("minimum").GetDouble());
        Assert.Equal(maximum, field.GetProperty("maximum").GetDouble());
        foreach (string bound in new[] { "exclusiveMinimum", "exclusiveMaximum" })
        {
            Assert.Equal(bound == exclusive, field.TryGetProperty(bound, out JsonElement flag) && flag.GetBoolean());
        }
        Assert.False(string.IsNullOrWhiteSpace(field.GetProperty("description").GetString()), field.GetRawText());
        var (citation, sectionName) = schema switch
        {
            "ElrSpec" => ("Liu et al. 2020", "elr"),
            "SubsetSpec" => ("Renduchintala et al. 2023", "subset"),
            "CompanderSpec" => ("Cakaj, Mehnert, Yang 2023", "compander"),
            _ => ("Inoue 2019", "multiSampleDropout"),
        };
        Assert.Contains(citation, section.GetProperty("description").GetString());
        JsonElement reference = document.GetProperty("components").GetProperty("schemas").GetProperty("JobSpec").GetProperty("properties")
            .GetProperty(sectionName);
        Assert.Equal($"#/components/schemas/{schema}", reference.GetProperty("$ref").GetString());
    }

    private static bool HasExample(JsonElement response) =>
        response.TryGetProperty("content", out JsonElement content)
        && content.EnumerateObject().Any(c => c.Value.TryGetProperty("example", out _) || c.Value.TryGetProperty("examples", out _));

    [Theory]
    [InlineData("/api/v1/datasets", "createdAfter", "createdBefore")]
    [InlineData("/api/v1/jobs", "createdAfter", "createdBefore")]
    [InlineData("/api/v1/runs", "startedAfter", "startedBefore")]
    public async Task SwaggerDocument_ListTimeFilters_AreDescribedDateTimeQueryParameters(string path, string after, string before)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement list = document.GetProperty("paths").GetProperty(path).GetProperty("get");
        Dictionary<string, JsonElement> parameters = list.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (string name in new[] { after, before })
        {
            Assert.Equal("query", parameters[name].GetProperty("in").GetString());
            Assert.Equal("date-time", parameters[name].GetProperty("schema").GetProperty("format").GetString());
            Assert.False(string.IsNullOrWhiteSpace(parameters[name].GetProperty("description").GetString()), name);
        }
        Assert.Contains(before, list.GetProperty("description").GetString());
        Assert.True(list.GetProperty("responses").TryGetProperty("400", out _));
    }

    [Theory]
    [InlineData("JobStatus", "Queued", "Running", "Succeeded", "Failed", "Cancelled")]
    [InlineData("RunStatus", "Running", "Succeeded", "Failed", "Cancelled")]
    public async Task SwaggerDocument_StatusEnums_AreTheStringsTheApiSends(string schema, params string[] values)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement status = document.GetProperty("components").GetProperty("schemas").GetProperty(schema);
        Assert.Equal("string", status.GetProperty("type").GetString());
        Assert.Equal(values.Order(), status.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!).Order());
    }

    public static TheoryData<string, string, string[]> ClosedSets => new()
    {
        { "ModelSpec", "kind", ModelKinds.All },
        { "TrainingSpec", "optimizer", Optimizers.All },
        { "TrainingSpec", "schedule", Schedules.All },
        { "TrainingSpec", "modelSelection", ModelSelections.All },
        { "MaestroSpec", "sampling", MaestroSampling.All },
        { "NoiseSpec", "kind", NoiseKinds.All },
        { "DatasetResponse", "format", DatasetFormats.All },
        { "RunResponse", "modelSelection", ModelSelections.All },
        { "LatencyResponse", "source", ["measured", "estimated"] },
        { "WorkerResponse", "status", ["busy", "idle"] },
    };

    [Theory]
    [MemberData(nameof(ClosedSets))]
    public async Task SwaggerDocument_ClosedStringSets_AreEnumsOfTheDomainValues(string schema, string property, string[] values)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement field = document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").GetProperty(property);
        Assert.Equal(values.Order(), field.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!).Order());
    }

    [Theory]
    [InlineData("TrainingSpec", "epochs", "minimum", 1)]
    [InlineData("TrainingSpec", "epochs", "maximum", 1000)]
    [InlineData("TrainingSpec", "learningRate", "maximum", 10)]
    [InlineData("ModelSpec", "hidden", "maxItems", 8)]
    [InlineData("ModelSpec", "hidden", "minItems", 1)]
    [InlineData("SweepSpec", "rankFractions", "maxItems", 64)]
    [InlineData("NoiseSpec", "rate", "maximum", 0.95)]
    [InlineData("CreateTenantRequest", "name", "maxLength", 64)]
    [InlineData("CreateApiKeyRequest", "name", "maxLength", 100)]
    [InlineData("PostLatenciesRequest", "measurements", "maxItems", 1024)]
    public async Task SwaggerDocument_ValidationBounds_AreInTheSchemas(string schema, string property, string keyword, double value)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement field = document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").GetProperty(property);
        Assert.True(field.TryGetProperty(keyword, out JsonElement bound), field.GetRawText());
        Assert.Equal(value, bound.GetDouble());
    }

    [Theory]
    [InlineData("ModelSpec", "hidden", 1, 16384)]
    [InlineData("ModelSpec", "channels", 1, 1024)]
    [InlineData("SweepSpec", "rankFractions", 0, 1)]
    public async Task SwaggerDocument_SpecListItems_CarryTheirBounds(string schema, string property, double minimum, double maximum)
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement items = document.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties")
            .GetProperty(property).GetProperty("items");
        Assert.Equal(minimum, items.GetProperty("minimum").GetDouble());
        Assert.Equal(maximum, items.GetProperty("maximum").GetDouble());
    }

    [Fact]
    public async Task SwaggerDocument_PagingParameters_CarryTheirBounds()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement limit = document.GetProperty("paths").GetProperty("/api/v1/jobs").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "limit").GetProperty("schema");
        Assert.Equal(1, limit.GetProperty("minimum").GetDouble());
        Assert.Equal(500, limit.GetProperty("maximum").GetDouble());
    }

    [Fact]
    public async Task SwaggerDocument_EveryPropertyParameterAndTag_IsDescribed()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement schemas = document.GetProperty("components").GetProperty("schemas");
        var missing = new List<string>();
        foreach (JsonProperty schema in schemas.EnumerateObject())
        {
            foreach (JsonProperty property in schema.Value.TryGetProperty("properties", out JsonElement properties) ? properties.EnumerateObject() : [])
            {
                // OpenAPI 3.0 ignores a $ref's siblings: such a property is described by the schema it references.
                JsonElement described = property.Value.TryGetProperty("$ref", out JsonElement reference)
                    ? schemas.GetProperty(reference.GetString()!["#/components/schemas/".Length..])
                    : property.Value;
                if (!described.TryGetProperty("description", out JsonElement text) || string.IsNullOrWhiteSpace(text.GetString()))
                {
                    missing.Add($"{schema.Name}.{property.Name}");
                }
            }
        }
        foreach (JsonProperty path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (JsonProperty operation in path.Value.EnumerateObject())
            {
                foreach (JsonElement parameter in operation.Value.TryGetProperty("parameters", out JsonElement parameters) ? parameters.EnumerateArray() : [])
                {
                    if (!parameter.TryGetProperty("description", out JsonElement text) || string.IsNullOrWhiteSpace(text.GetString()))
                    {
                        missing.Add($"{operation.Name.ToUpperInvariant()} {path.Name} parameter {parameter.GetProperty("name").GetString()}");
                    }
                }
            }
        }
        foreach (JsonElement tag in document.GetProperty("tags").EnumerateArray())
        {
            if (!tag.TryGetProperty("description", out _))
            {
                missing.Add($"tag {tag.GetProperty("name").GetString()}");
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count} without a description:\n" + string.Join('\n', missing));
    }

    [Fact]
    public async Task SwaggerDocument_DatasetUpload_DeclaresItsFormFields()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        JsonElement form = document.GetProperty("paths").GetProperty("/api/v1/datasets").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("multipart/form-data").GetProperty("schema");
        JsonElement properties = form.GetProperty("properties");
        Assert.Equal(DatasetFormats.All.Order(), properties.GetProperty("format").GetProperty("enum").EnumerateArray().Select(v => v.GetString()!).Order());
        Assert.Equal(200, properties.GetProperty("name").GetProperty("maxLength").GetInt32());
        Assert.All(new[] { "images", "labels", "archive", "data" }, f => Assert.Equal("binary", properties.GetProperty(f).GetProperty("format").GetString()));
    }

    [Fact]
    public async Task SwaggerDocument_Info_HasServersAndLicence()
    {
        JsonElement document = await api.CreateClient().GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");

        Assert.NotEmpty(document.GetProperty("servers").EnumerateArray());
        Assert.False(string.IsNullOrWhiteSpace(document.GetProperty("info").GetProperty("license").GetProperty("name").GetString()));
    }

    [Fact]
    public async Task SwaggerUi_IsServed()
    {
        using HttpResponseMessage response = await api.CreateClient().GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class HealthTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/healthz/ready")]
    public async Task Health_MigratedDatabase_Returns200(string path)
    {
        using HttpResponseMessage response = await api.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
