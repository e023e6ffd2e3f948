using Training.Modules;

namespace Training.Engine;

/// <summary>A network's trainable state as bytes: active ranks, feature truncation and weights (TorchSharp's state-dict format).</summary>
internal static class NetworkState
{
    public static void Write(BinaryWriter writer, ClassifierNetwork net)
    {
        IReadOnlyList<IFactorizedLayer> layers = net.Factorized;
        writer.Write(layers.Count);
        foreach (IFactorizedLayer layer in layers)
        {
            writer.Write(layer.ActiveRank);
        }
        writer.Write(net.FeatureTruncation ?? -1);
        net.save(writer);
    }

    public static void Read(BinaryReader reader, ClassifierNetwork net)
    {
        IReadOnlyList<IFactorizedLayer> layers = net.Factorized;
        int count = reader.ReadInt32();
        if (count != layers.Count)
        {
            throw new InvalidDataException("The saved network has a different architecture.");
        }
        foreach (IFactorizedLayer layer in layers)
        {
            layer.ActiveRank = reader.ReadInt32();
        }
        int k = reader.ReadInt32();
        net.FeatureTruncation = k < 0 ? null : k;
        net.load(reader);
    }

    public static byte[] Capture(ClassifierNetwork net)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            Write(writer, net);
        }
        return buffer.ToArray();
    }

    public static void Restore(ClassifierNetwork net, byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        Read(reader, net);
    }
}
