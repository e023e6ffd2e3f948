using Training.Modules;

namespace Training.Engine;

/// <summary>
/// The trained-model format written by <see cref="TrainingOutcome.WriteModel"/>: magic, version, the architecture
/// (input shape, layer shapes, ranks kept per factorised layer, classes, nested-dropout K), then the weights in
/// TorchSharp's state-dict format. <see cref="Read"/> rebuilds the network from it.
/// </summary>
public static class ModelFile
{
    private const string Magic = "TRAINMODEL";
    private const int Version = 1;

    public static void Write(Stream stream, ClassifierNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        WriteInts(writer, network.InputShape);
        writer.Write(network.Layers.Count);
        foreach (LayerShape layer in network.Layers)
        {
            writer.Write(layer.Convolution);
            writer.Write(layer.In);
            writer.Write(layer.Out);
            writer.Write(layer.KernelSize);
        }
        writer.Write(network.IsLowRank);
        WriteInts(writer, network.Factorized.Select(l => l.ActiveRank).ToList());
        writer.Write(network.Classes);
        writer.Write(network.FeatureTruncation ?? -1);
        network.save(writer);
        writer.Flush();
    }

    public static ClassifierNetwork Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException("Not a trained model file.");
        }
        int version = reader.ReadInt32();
        if (version != Version)
        {
            throw new InvalidDataException($"Unsupported model file version {version}.");
        }
        int[] inputShape = ReadInts(reader);
        var layers = new LayerShape[reader.ReadInt32()];
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = new LayerShape(reader.ReadBoolean(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        }
        bool lowRank = reader.ReadBoolean();
        int[] ranks = ReadInts(reader);
        int classes = reader.ReadInt32();
        int k = reader.ReadInt32();
        ClassifierNetwork network = ClassifierNetwork.FromLayout(inputShape, layers, lowRank ? ranks : null, classes);
        network.FeatureTruncation = k < 0 ? null : k;
        network.load(reader);
        return network;
    }

    private static void WriteInts(BinaryWriter writer, IReadOnlyList<int> values)
    {
        writer.Write(values.Count);
        foreach (int v in values)
        {
            writer.Write(v);
        }
    }

    private static int[] ReadInts(BinaryReader reader)
    {
        var values = new int[reader.ReadInt32()];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadInt32();
        }
        return values;
    }
}
