using System.Text.Json;
using System.Text.Json.Serialization;
using Api.Datasets;
using Api.Devices;
using Api.Jobs;
using Api.Runs;
using Api.Variants;

namespace Api.Common;

/// <summary>
/// Source-generated JSON metadata for the responses clients read most (variant selection above all), first in the
/// Api's resolver chain; other types fall back to reflection. Its options must match <c>ApiExtensions.ConfigureJson</c>:
/// web defaults, enums as strings, nulls omitted.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SelectionResponse))]
[JsonSerializable(typeof(VariantsResponse))]
[JsonSerializable(typeof(JobResponse))]
[JsonSerializable(typeof(Page<JobResponse>))]
[JsonSerializable(typeof(RunResponse))]
[JsonSerializable(typeof(Page<RunResponse>))]
[JsonSerializable(typeof(CurveResponse))]
[JsonSerializable(typeof(DatasetResponse))]
[JsonSerializable(typeof(Page<DatasetResponse>))]
[JsonSerializable(typeof(DeviceResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
