using TorchSharp;
using TorchSharp.Modules;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// The engine's checkpoint format: magic, version, a fingerprint of the run's shape, the epoch, torch's RNG state,
/// and per network its active ranks, nested-dropout K, weights (TorchSharp's state-dict format) and optimiser state.
/// Every block is length-prefixed so a truncated stream fails loudly instead of loading half a model.
/// </summary>
internal static class Checkpoint
{
    private const string Magic = "TRAINCKPT";
    private const int Version = 1;

    public static void Write(Stream stream, TrainingSession session)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(session.Fingerprint);
        writer.Write(session.EpochsDone);
        using (Tensor rng = torch.get_rng_state())
        {
            WriteBlock(writer, w => w.Write(rng.data<byte>().ToArray()));
        }
        writer.Write(session.Networks.Count);
        for (int i = 0; i < session.Networks.Count; i++)
        {
            WriteNetwork(writer, session.Networks[i], session.Optimizers[i]);
        }
        writer.Write(session.Dense is not null);
        if (session.Dense is not null)
        {
            WriteNetwork(writer, session.Dense, session.DenseOptimizer!);
        }
        writer.Flush();
    }

    public static void Read(Stream stream, TrainingSession session)
    {
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException("Not a training checkpoint.");
        }
        int version = reader.ReadInt32();
        if (version != Version)
        {
            throw new InvalidDataException($"Unsupported checkpoint version {version}.");
        }
        string fingerprint = reader.ReadString();
        if (fingerprint != session.Fingerprint)
        {
            throw new InvalidDataException($"The checkpoint belongs to a different run ({fingerprint}; expected {session.Fingerprint}).");
        }
        int epochs = reader.ReadInt32();
        byte[] rng = ReadBlock(reader);
        int nets = reader.ReadInt32();
        if (nets != session.Networks.Count)
        {
            throw new InvalidDataException("The checkpoint has a different number of networks.");
        }
        for (int i = 0; i < nets; i++)
        {
            ReadNetwork(reader, session.Networks[i], session.Optimizers[i]);
        }
        bool dense = reader.ReadBoolean();
        if (dense != session.Dense is not null)
        {
            throw new InvalidDataException("The checkpoint disagrees about the dense baseline.");
        }
        if (dense)
        {
            ReadNetwork(reader, session.Dense!, session.DenseOptimizer!);
        }
        using (Tensor state = tensor(rng, dtype: uint8))
        {
            torch.set_rng_state(state);
        }
        session.EpochsDone = epochs;
    }

    private static void WriteNetwork(BinaryWriter writer, ClassifierNetwork net, optim.Optimizer optimizer)
    {
        IReadOnlyList<IFactorizedLayer> layers = net.Factorized;
        writer.Write(layers.Count);
        foreach (IFactorizedLayer layer in layers)
        {
            writer.Write(layer.ActiveRank);
        }
        writer.Write(net.FeatureTruncation ?? -1);
        WriteBlock(writer, w => net.save(w));
        WriteBlock(writer, w => ((OptimizerHelper)optimizer).save_state_dict(w));
    }

    private static void ReadNetwork(BinaryReader reader, ClassifierNetwork net, optim.Optimizer optimizer)
    {
        IReadOnlyList<IFactorizedLayer> layers = net.Factorized;
        int count = reader.ReadInt32();
        if (count != layers.Count)
        {
            throw new InvalidDataException("The checkpoint has a different architecture.");
        }
        foreach (IFactorizedLayer layer in layers)
        {
            layer.ActiveRank = reader.ReadInt32();
        }
        int k = reader.ReadInt32();
        net.FeatureTruncation = k < 0 ? null : k;
        using (var weights = new BinaryReader(new MemoryStream(ReadBlock(reader))))
        {
            net.load(weights);
        }
        using (var state = new BinaryReader(new MemoryStream(ReadBlock(reader))))
        {
            ((OptimizerHelper)optimizer).load_state_dict(state);
        }
    }

    private static void WriteBlock(BinaryWriter writer, Action<BinaryWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var inner = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            body(inner);
            inner.Flush();
        }
        writer.Write(buffer.Length);
        writer.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static byte[] ReadBlock(BinaryReader reader)
    {
        long length = reader.ReadInt64();
        byte[] bytes = reader.ReadBytes(checked((int)length));
        if (bytes.Length != length)
        {
            throw new EndOfStreamException("The checkpoint is truncated.");
        }
        return bytes;
    }
}
