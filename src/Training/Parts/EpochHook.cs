namespace Training.Parts;

/// <summary>Acts between epochs only: progressive shrinking, nested dropout's choice of K, model selection, warm-up hand-off.</summary>
internal abstract class EpochHook : TrainingPart
{
}
