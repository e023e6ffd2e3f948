using System.Runtime.InteropServices;
using Google.Protobuf;
using Training.Export.Onnx;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Export;

/// <summary>
/// Writes a factorised <see cref="ClassifierNetwork"/> as an ONNX graph (IR and operator semantics from the ONNX
/// specification, onnx/onnx docs/IR.md and docs/Operators.md, Apache-2.0). The graph mirrors
/// <see cref="ClassifierNetwork.forward"/>: per body layer V then U (or their product), ReLU, 2×2 max-pooling after
/// convolutions and a flatten before the first fully connected layer; the nested-dropout mask; the classifier.
/// </summary>
internal static class OnnxGraphBuilder
{
    private const string Input = "input";
    private const string Output = "logits";
    private const string BatchAxis = "batch";

    public static (ModelProto Model, IReadOnlyList<string> Forms, long Parameters) Build(ClassifierNetwork network)
    {
        if (!network.IsLowRank)
        {
            throw new ArgumentException("The ONNX writer expects a factorised network.", nameof(network));
        }
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> state = network.state_dict();
        var graph = new GraphProto { Name = "classifier" };
        var forms = new List<string>();
        long parameters = 0;
        string x = Input;

        void Initializer(string name, Tensor value, params long[] dims)
        {
            graph.Initializer.Add(FloatTensor(name, value, dims));
            parameters += dims.Aggregate(1L, (a, b) => a * b);
        }

        for (int i = 0; i < network.Layers.Count; i++)
        {
            LayerShape shape = network.Layers[i];
            Tensor v = state[$"body.{i}.v"];
            Tensor u = state[$"body.{i}.u"];
            Tensor bias = state[$"body.{i}.bias"];
            int rank = (int)v.shape[0];
            int k = shape.KernelSize;
            long fanIn = shape.Convolution ? (long)shape.In * k * k : shape.In;
            bool factored = VariantExporter.PrefersFactored(rank, fanIn, shape.Out);
            forms.Add(factored ? LayerForm.Factored : LayerForm.Dense);
            string z = $"body.{i}.linear";
            Initializer($"body.{i}.bias", bias, shape.Out);
            if (shape.Convolution)
            {
                // Maestro's factorised convolution: k×k conv to r channels without bias, then 1×1 conv r → out with bias.
                if (factored)
                {
                    Initializer($"body.{i}.v", v, rank, shape.In, k, k);
                    Initializer($"body.{i}.u", u, shape.Out, rank, 1, 1);
                    graph.Node.Add(Node("Conv", [x, $"body.{i}.v"], $"body.{i}.hidden", Ints("kernel_shape", k, k)));
                    graph.Node.Add(Node("Conv", [$"body.{i}.hidden", $"body.{i}.u", $"body.{i}.bias"], z, Ints("kernel_shape", 1, 1)));
                }
                else
                {
                    Initializer($"body.{i}.weight", Merge(u, v), shape.Out, shape.In, k, k);
                    graph.Node.Add(Node("Conv", [x, $"body.{i}.weight", $"body.{i}.bias"], z, Ints("kernel_shape", k, k)));
                }
                graph.Node.Add(Node("Relu", [z], $"body.{i}.relu"));
                graph.Node.Add(Node("MaxPool", [$"body.{i}.relu"], $"body.{i}.pool", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
                x = $"body.{i}.pool";
                if (i + 1 == network.Layers.Count || !network.Layers[i + 1].Convolution)
                {
                    graph.Node.Add(Node("Flatten", [x], $"body.{i}.flat", Int("axis", 1)));
                    x = $"body.{i}.flat";
                }
            }
            else
            {
                // Gemm computes A·Bᵀ + C with transB = 1, the layout of torch's (out × in) weights.
                if (factored)
                {
                    Initializer($"body.{i}.v", v, rank, shape.In);
                    Initializer($"body.{i}.u", u, shape.Out, rank);
                    graph.Node.Add(Node("Gemm", [x, $"body.{i}.v"], $"body.{i}.hidden", Int("transB", 1)));
                    graph.Node.Add(Node("Gemm", [$"body.{i}.hidden", $"body.{i}.u", $"body.{i}.bias"], z, Int("transB", 1)));
                }
                else
                {
                    Initializer($"body.{i}.weight", Merge(u, v), shape.Out, shape.In);
                    graph.Node.Add(Node("Gemm", [x, $"body.{i}.weight", $"body.{i}.bias"], z, Int("transB", 1)));
                }
                graph.Node.Add(Node("Relu", [z], $"body.{i}.relu"));
                x = $"body.{i}.relu";
            }
        }

        if (network.FeatureTruncation is int kept && kept < network.FeatureCount)
        {
            // Nested dropout (Rippel et al. 2014): the classifier sees only the first k features.
            using Tensor mask = arange(network.FeatureCount).lt(kept).to(float32);
            graph.Initializer.Add(FloatTensor("feature_mask", mask, network.FeatureCount));
            graph.Node.Add(Node("Mul", [x, "feature_mask"], "features"));
            x = "features";
        }
        Initializer("classifier.weight", state["classifier.weight"], network.Classes, network.FeatureCount);
        Initializer("classifier.bias", state["classifier.bias"], network.Classes);
        graph.Node.Add(Node("Gemm", [x, "classifier.weight", "classifier.bias"], Output, Int("transB", 1)));

        graph.Input.Add(FloatValue(Input, [BatchAxis, .. network.InputShape.Select(d => (object)(long)d)]));
        graph.Output.Add(FloatValue(Output, [BatchAxis, (long)network.Classes]));
        var model = new ModelProto
        {
            IrVersion = VariantExporter.OnnxIrVersion,
            ProducerName = "Training.Export",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = VariantExporter.OnnxOpset });
        return (model, forms, parameters);
    }

    /// <summary>U·V in float64 (out × fan-in), the dense weight of a layer; reshaped by the caller's dims.</summary>
    private static Tensor Merge(Tensor u, Tensor v) =>
        u.flatten(1).to(float64).matmul(v.flatten(1).to(float64)).to(float32);

    private static TensorProto FloatTensor(string name, Tensor value, params long[] dims)
    {
        using Tensor contiguous = value.detach().to(float32).cpu().contiguous();
        if (contiguous.numel() != dims.Aggregate(1L, (a, b) => a * b))
        {
            throw new InvalidOperationException($"{name} has {contiguous.numel()} values; expected [{string.Join(", ", dims)}].");
        }
        float[] data = contiguous.data<float>().ToArray();
        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            // raw_data is little-endian; .NET on x64/arm64 is too.
            RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())),
        };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static ValueInfoProto FloatValue(string name, IEnumerable<object> dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim is string param
                ? new TensorShapeProto.Types.Dimension { DimParam = param }
                : new TensorShapeProto.Types.Dimension { DimValue = (long)dim });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
