using System.Reflection;
using Infrastructure.Observability;
using Infrastructure.Options;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Api.IntegrationTests;

/// <summary>
/// docker-compose.yml and the Kubernetes manifests set configuration through environment variables; a
/// misspelt one is silently ignored. These tests parse the files and check that every variable set for one
/// of our containers names a configuration key the application reads: a property of an options class
/// (bound from its <c>SectionName</c>), the connection string, or a documented framework variable.
/// </summary>
public sealed class DeployConfigurationTests
{
    private static readonly string s_root = FindRepositoryRoot();

    /// <summary>Variables read by ASP.NET Core, the .NET host and OpenTelemetry rather than by an options class.</summary>
    private static readonly HashSet<string> s_frameworkVariables = new(StringComparer.OrdinalIgnoreCase)
    {
        "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT",
        TelemetryExtensions.OtlpEndpointVariable, TelemetryExtensions.ServiceNameVariable,
        $"ConnectionStrings__{StorageProviders.PostgresConnectionName}",
    };

    private static readonly IDeserializer s_yaml = new DeserializerBuilder().Build();

    [Fact]
    public void DockerCompose_EveryEnvironmentVariableOfOurServices_IsAConfigurationKey()
    {
        Dictionary<object, object> compose = ReadCompose();
        var services = (Dictionary<object, object>)compose["services"];
        List<string> checkedVariables = [];
        foreach ((object name, object value) in services)
        {
            var service = (Dictionary<object, object>)value;
            if (!IsOurImage(service.GetValueOrDefault("image") as string))
            {
                continue;
            }
            if (service.GetValueOrDefault("environment") is Dictionary<object, object> environment)
            {
                foreach (object key in environment.Keys)
                {
                    AssertConfigurationKey((string)key, $"docker-compose.yml service {name}");
                    checkedVariables.Add((string)key);
                }
            }
        }
        Assert.Contains("Worker__MetricsPort", checkedVariables);
        Assert.Contains("Storage__Provider", checkedVariables);
    }

    [Fact]
    public void DockerCompose_FollowsTheComposeSpecification_NoTopLevelNameAndMonitoringBehindAProfile()
    {
        Dictionary<object, object> compose = ReadCompose();

        Assert.False(compose.ContainsKey("name"), "Compose 1.29 rejects a top-level 'name'.");
        Assert.False(compose.ContainsKey("version"), "The Compose specification has no 'version'.");
        var prometheus = (Dictionary<object, object>)((Dictionary<object, object>)compose["services"])["prometheus"];
        Assert.Equal(["monitoring"], ((List<object>)prometheus["profiles"]).Cast<string>());
        Assert.True(File.Exists(Path.Combine(s_root, "deploy", "prometheus", "prometheus.yml")));
    }

    [Fact]
    public void KubernetesManifests_EveryEnvironmentVariableOfOurContainers_IsAConfigurationKey()
    {
        List<Dictionary<object, object>> documents = Directory.EnumerateFiles(Path.Combine(s_root, "deploy", "k8s"), "*.yaml")
            .SelectMany(ReadDocuments).ToList();
        HashSet<string> envFrom = [];
        int variables = 0;
        foreach (Dictionary<object, object> container in documents.SelectMany(Containers).Where(c => IsOurImage(c.GetValueOrDefault("image") as string)))
        {
            foreach (Dictionary<object, object> env in (container.GetValueOrDefault("env") as List<object> ?? []).Cast<Dictionary<object, object>>())
            {
                AssertConfigurationKey((string)env["name"], $"k8s container {container["name"]}");
                variables++;
            }
            foreach (Dictionary<object, object> from in (container.GetValueOrDefault("envFrom") as List<object> ?? []).Cast<Dictionary<object, object>>())
            {
                Dictionary<object, object> reference = (Dictionary<object, object>)(from.GetValueOrDefault("configMapRef") ?? from["secretRef"]);
                envFrom.Add((string)reference["name"]);
            }
        }
        foreach (Dictionary<object, object> document in documents.Where(d => d["kind"] is "ConfigMap" or "Secret"))
        {
            string name = (string)((Dictionary<object, object>)document["metadata"])["name"];
            if (!envFrom.Contains(name))
            {
                continue;   // e.g. postgres-credentials, read by the PostgreSQL image only
            }
            var data = (Dictionary<object, object>?)(document.GetValueOrDefault("data") ?? document.GetValueOrDefault("stringData")) ?? [];
            foreach (object key in data.Keys)
            {
                AssertConfigurationKey((string)key, $"k8s {document["kind"]} {name}");
                variables++;
            }
        }
        Assert.Contains("tas-config", envFrom);
        Assert.True(variables > 10, $"only {variables} variables found");
    }

    [Fact]
    public void KubernetesManifests_ApiAndWorkers_HaveScrapeAnnotationsAndHealthProbes()
    {
        List<Dictionary<object, object>> deployments = Directory.EnumerateFiles(Path.Combine(s_root, "deploy", "k8s"), "*.yaml")
            .SelectMany(ReadDocuments).Where(d => d["kind"] is "Deployment").ToList();
        foreach (string name in new[] { "api", "worker-cpu", "worker-gpu" })
        {
            Dictionary<object, object> deployment = deployments.Single(d => (string)((Dictionary<object, object>)d["metadata"])["name"] == name);
            var template = (Dictionary<object, object>)((Dictionary<object, object>)deployment["spec"])["template"];
            var annotations = (Dictionary<object, object>)((Dictionary<object, object>)template["metadata"])["annotations"];
            Assert.Equal("true", annotations["prometheus.io/scrape"]);
            Assert.Equal(TelemetryExtensions.MetricsPath, annotations["prometheus.io/path"]);
            Dictionary<object, object> container = Containers(deployment).Single();
            Assert.Equal(HealthChecks.ReadyPath, ProbePath(container, "readinessProbe"));
            Assert.Equal(HealthChecks.LivePath, ProbePath(container, "livenessProbe"));
        }
    }

    private static string ProbePath(Dictionary<object, object> container, string probe) =>
        (string)((Dictionary<object, object>)((Dictionary<object, object>)container[probe])["httpGet"])["path"];

    /// <summary><c>Section__Property</c> (any depth) must resolve to a property of the options class bound from that section.</summary>
    private static void AssertConfigurationKey(string variable, string where)
    {
        if (s_frameworkVariables.Contains(variable) || variable.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        string key = variable.Replace("__", ":", StringComparison.Ordinal);
        (string Section, Type Type)? match = OptionsSections()
            .Where(s => key.StartsWith(s.Section + ":", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(s => s.Section.Length).Cast<(string, Type)?>().FirstOrDefault();
        Assert.True(match is not null, $"{where}: {variable} is in no configuration section the application binds.");
        Type type = match.Value.Type;
        foreach (string part in key[(match.Value.Section.Length + 1)..].Split(':'))
        {
            PropertyInfo? property = type.GetProperty(part, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            Assert.True(property is not null, $"{where}: {variable} names no property of {match.Value.Type.Name} ({part}).");
            type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        }
    }

    /// <summary>Every options class of the service: a type with a <c>const string SectionName</c>.</summary>
    private static IEnumerable<(string Section, Type Type)> OptionsSections() =>
        new[] { typeof(Program).Assembly, typeof(Worker.WorkerOptions).Assembly, typeof(StorageOptions).Assembly, typeof(Domain.Datasets.DatasetLimitsOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true } && t.Field.FieldType == typeof(string))
            .Select(t => ((string)t.Field!.GetRawConstantValue()!, t.Type));

    private static bool IsOurImage(string? image) => image is not null && image.StartsWith("tas-", StringComparison.Ordinal);

    private static IEnumerable<Dictionary<object, object>> Containers(Dictionary<object, object> document)
    {
        if (document["kind"] is not ("Deployment" or "Job" or "StatefulSet"))
        {
            return [];
        }
        var spec = (Dictionary<object, object>)((Dictionary<object, object>)((Dictionary<object, object>)document["spec"])["template"])["spec"];
        return ((List<object>)spec["containers"]).Concat(spec.GetValueOrDefault("initContainers") as List<object> ?? []).Cast<Dictionary<object, object>>();
    }

    private static Dictionary<object, object> ReadCompose()
    {
        using var reader = new StringReader(File.ReadAllText(Path.Combine(s_root, "docker-compose.yml")));
        // MergingParser resolves the `<<: *storage-env` merge keys the file uses.
        return s_yaml.Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
    }

    private static IEnumerable<Dictionary<object, object>> ReadDocuments(string path)
    {
        var parser = new Parser(new StringReader(File.ReadAllText(path)));
        parser.Consume<StreamStart>();
        List<Dictionary<object, object>> documents = [];
        while (parser.Accept<DocumentStart>(out _))
        {
            if (s_yaml.Deserialize<Dictionary<object, object>>(parser) is { } document)
            {
                documents.Add(document);
            }
        }
        return documents;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Service.sln not found above " + AppContext.BaseDirectory);
    }
}
