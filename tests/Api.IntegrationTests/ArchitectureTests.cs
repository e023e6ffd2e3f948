using System.Reflection;
using System.Reflection.Emit;

namespace Api.IntegrationTests;

/// <summary>
/// README "Two transports, one service", checked on the compiled Api: the gRPC services call their feature's service,
/// never the REST handler classes (<c>JobsApi</c>, <c>RunsApi</c>, ...).
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Dictionary<short, OpCode> s_opCodes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void GrpcServices_CallFeatureServicesAndNoRestHandlerClass()
    {
        // Arrange
        Type[] services = typeof(Program).Assembly.GetTypes()
            .Where(t => t.Namespace == "Api.Grpc" && t.Name.EndsWith("GrpcService", StringComparison.Ordinal))
            .ToArray();

        // Act: every method the services' IL calls, async state machines and lambdas (nested types) included.
        List<MethodBase> called = services.SelectMany(WithNested).SelectMany(Bodies).SelectMany(CalledMethods).ToList();

        // Assert
        Assert.Equal(6, services.Length);
        Assert.Contains(called, m => m.DeclaringType == typeof(Api.Jobs.JobService));
        Assert.Contains(called, m => m.DeclaringType == typeof(Api.Variants.VariantService));
        Assert.Contains(called, m => m.DeclaringType == typeof(Api.Datasets.DatasetQueries));
        Assert.Empty(called
            .Where(m => m.DeclaringType is { Namespace: { } ns, Name: { } name } && ns.StartsWith("Api.", StringComparison.Ordinal) && name.EndsWith("Api", StringComparison.Ordinal))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .Distinct());
    }

    private static IEnumerable<Type> WithNested(Type type) =>
        type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).SelectMany(WithNested).Prepend(type);

    private static IEnumerable<MethodBase> Bodies(Type type) =>
        type.GetMethods(BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Cast<MethodBase>()
            .Concat(type.GetConstructors(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic));

    /// <summary>The methods a body's call, callvirt, newobj, ldftn and ldvirtftn instructions name (ECMA-335 III).</summary>
    private static List<MethodBase> CalledMethods(MethodBase method)
    {
        var result = new List<MethodBase>();
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return result;
        }
        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE ? unchecked((short)(0xFE00 | il[i + 1])) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            OpCode op = s_opCodes[value];
            if (op.OperandType == OperandType.InlineMethod)
            {
                result.Add(method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!);
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, i)),
                _ => 4,
            };
        }
        return result;
    }
}
