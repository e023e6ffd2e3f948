using TorchSharp;
using TorchSharp.Modules;
using Training.Parts;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// The engine's checkpoint format: magic, version, a fingerprint of the run's shape (plan and parts), the epoch,
/// torch's RNG state, every learner's network (<see cref="NetworkState"/>) and optimiser state, then each part's own
/// state under its name. Every block is length-prefixed so a truncated stream fails loudly instead of loading half a model.
/// </summary>
internal static class Checkpoint
{
    private const string Magic = "TRAINCKPT";
    private const int Version = 2;

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
        List<Learner> learners = session.State.All.ToList();
        writer.Write(learners.Count);
        foreach (Learner learner in learners)
        {
            WriteBlock(writer, w => NetworkState.Write(w, learner.Net));
            WriteBlock(writer, w => ((OptimizerHelper)learner.Optimizer).save_state_dict(w));
        }
        writer.Write(session.Parts.Count);
        foreach (TrainingPart part in session.Parts)
        {
            writer.Write(part.Name);
            WriteBlock(writer, part.WriteState);
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
        List<Learner> learners = session.State.All.ToList();
        if (reader.ReadInt32() != learners.Count)
        {
            throw new InvalidDataException("The checkpoint has a different number of networks.");
        }
        foreach (Learner learner in learners)
        {
            using (var weights = new BinaryReader(new MemoryStream(ReadBlock(reader))))
            {
                NetworkState.Read(weights, learner.Net);
            }
            using var state = new BinaryReader(new MemoryStream(ReadBlock(reader)));
            ((OptimizerHelper)learner.Optimizer).load_state_dict(state);
        }
        if (reader.ReadInt32() != session.Parts.Count)
        {
            throw new InvalidDataException("The checkpoint has a different method.");
        }
        foreach (TrainingPart part in session.Parts)
        {
            string name = reader.ReadString();
            if (name != part.Name)
            {
                throw new InvalidDataException($"The checkpoint has part '{name}' where this run has '{part.Name}'.");
            }
            using var state = new BinaryReader(new MemoryStream(ReadBlock(reader)));
            part.ReadState(state);
        }
        using (Tensor state = tensor(rng, dtype: uint8))
        {
            torch.set_rng_state(state);
        }
        session.EpochsDone = epochs;
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
