using Domain.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Training.Modules;

/// <summary>One body layer of a <see cref="ClassifierNetwork"/>: a convolution (followed by ReLU and 2×2 max-pooling) or a fully connected layer (followed by ReLU).</summary>
public sealed record LayerShape(bool Convolution, int In, int Out, int KernelSize = 0);

/// <summary>
/// The MLP or small CNN of a job: body layers (factorised <see cref="LowRankLinear"/>/<see cref="LowRankConv2d"/>,
/// or dense for the baseline), each followed by ReLU (and max-pooling after convolutions), then a dense
/// classifier on the penultimate features. The classifier stays dense, as is usual for factorised networks:
/// its rank is bounded by the number of classes, and nested dropout acts on its input.
/// <para>
/// With a weight compander (<see cref="CompanderSpec"/>), every body weight tensor (a dense layer's weight, a
/// factorised layer's V and U) is stored raw and read through its own <see cref="WeightCompander"/>; the classifier is
/// not companded (nested dropout and multi-sample dropout read its weights directly). <see cref="Shrunk"/> bakes the
/// effective weights into a plain network, which is what is evaluated after training, written and exported.
/// </para>
/// </summary>
public sealed class ClassifierNetwork : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> body;
    private readonly ModuleList<WeightCompander> compander;
    private readonly FeatureMask feature_mask;
    private readonly Linear classifier;

    // Index of each body layer's first compander (factorised layers have two: V, then U).
    private readonly int[] _companderOffsets;

    private ClassifierNetwork(IReadOnlyList<int> inputShape, IReadOnlyList<LayerShape> layers, IEnumerable<Module<Tensor, Tensor>> modules, Linear head,
        IEnumerable<WeightCompander>? companders = null)
        : base(nameof(ClassifierNetwork))
    {
        body = new ModuleList<Module<Tensor, Tensor>>(modules.ToArray());
        // Empty without a compander, so plain networks keep their state-dict keys.
        compander = new ModuleList<WeightCompander>(companders?.ToArray() ?? []);
        _companderOffsets = new int[body.Count];
        for (int i = 0, k = 0; i < body.Count; i++)
        {
            _companderOffsets[i] = k;
            k += body[i] is IFactorizedLayer ? 2 : 1;
        }
        feature_mask = new FeatureMask((int)head.in_features);
        classifier = head;
        InputShape = inputShape;
        Layers = layers;
        RegisterComponents();
    }

    /// <summary>Per-sample input shape as (C, H, W) for convolutional networks, or (D) for MLPs.</summary>
    public IReadOnlyList<int> InputShape { get; }

    public IReadOnlyList<LayerShape> Layers { get; }

    public int FeatureCount => (int)classifier.in_features;

    public int Classes => (int)classifier.out_features;

    /// <summary>Nested dropout: keep only the first k penultimate features (zero the rest); null keeps all.</summary>
    public int? FeatureTruncation { get => feature_mask.Keep; set => feature_mask.Keep = value; }

    /// <summary>The truncation of the penultimate features that nested dropout sets.</summary>
    public FeatureMask Mask => feature_mask;

    /// <summary>The factorised body layers (empty for a dense baseline).</summary>
    public IReadOnlyList<IFactorizedLayer> Factorized => body.OfType<IFactorizedLayer>().ToList();

    public bool IsLowRank => body.Count > 0 && body[0] is IFactorizedLayer;

    /// <summary>The weight companders of the body's weight tensors in layer order (V before U); empty for a plain network.</summary>
    public IReadOnlyList<WeightCompander> Companders => compander.ToList();

    public bool IsCompanded => compander.Count > 0;

    /// <summary>
    /// Builds the network a job asks for. <paramref name="sampleShape"/> is the dataset's per-sample shape. With
    /// <paramref name="compander"/>, every body weight tensor gets a <see cref="WeightCompander"/> fitted to its initial
    /// values and is stored raw (f⁻¹), so the companded network starts with the plain one's effective weights.
    /// </summary>
    public static ClassifierNetwork Create(ModelSpec model, IReadOnlyList<int> sampleShape, int classes, CompanderSpec? compander = null)
    {
        IReadOnlyList<int> inputShape = InputShapeFor(model.Kind, sampleShape);
        IReadOnlyList<LayerShape> layers = Architecture(model, inputShape);
        return Build(inputShape, layers, model.LowRank ? layers.Select(_ => model.MaxRank).ToArray() : null, classes, compander);
    }

    /// <summary>Rebuilds a network of a known layout (weights uninitialised in meaning; load a state dict next).</summary>
    public static ClassifierNetwork FromLayout(IReadOnlyList<int> inputShape, IReadOnlyList<LayerShape> layers, IReadOnlyList<int>? ranks, int classes) =>
        Build(inputShape, layers, ranks?.Select(r => (int?)r).ToArray(), classes);

    /// <summary>The one layer factory: factorised layers capped at <paramref name="maxRanks"/> (null entries: full rank), or dense when null.</summary>
    private static ClassifierNetwork Build(IReadOnlyList<int> inputShape, IReadOnlyList<LayerShape> layers, IReadOnlyList<int?>? maxRanks, int classes,
        CompanderSpec? compander = null)
    {
        var modules = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < layers.Count; i++)
        {
            LayerShape layer = layers[i];
            modules.Add((layer.Convolution, maxRanks is not null) switch
            {
                (true, true) => LowRankConv2d.Create(layer.In, layer.Out, layer.KernelSize, maxRank: maxRanks![i]),
                (true, false) => DenseConv2d.Create(layer.In, layer.Out, layer.KernelSize),
                (false, true) => LowRankLinear.Create(layer.In, layer.Out, maxRanks![i]),
                _ => nn.Linear(layer.In, layer.Out),
            });
        }
        Linear head = nn.Linear(layers[^1].Out, classes);
        var network = new ClassifierNetwork(inputShape, layers, modules, head, compander is null ? null : FitCompanders(modules, compander));
        network.SetOutputPixels();
        if (compander is not null)
        {
            network.StoreRaw();
        }
        return network;
    }

    /// <summary>One compander per body weight tensor (V, then U, for factorised layers), fitted to the tensor's current values.</summary>
    private static List<WeightCompander> FitCompanders(IEnumerable<Module<Tensor, Tensor>> modules, CompanderSpec spec)
    {
        WeightCompander Fit(Tensor weight) => WeightCompander.ForWeight(weight, spec.Bound, spec.Gain, spec.Learnable);
        var companders = new List<WeightCompander>();
        foreach (Module<Tensor, Tensor> module in modules)
        {
            switch (module)
            {
                case IFactorizedLayer factorized:
                    companders.Add(Fit(factorized.ComponentsIn));
                    companders.Add(Fit(factorized.ComponentsOut));
                    break;
                case Linear linear:
                    companders.Add(Fit(linear.weight!));
                    break;
                case DenseConv2d conv:
                    companders.Add(Fit(conv.Weight));
                    break;
                default:
                    throw new InvalidOperationException($"No weight compander for {module.GetType().Name}.");
            }
        }
        return companders;
    }

    /// <summary>Turns the stored body weights into raw values (f⁻¹ of each compander), keeping the effective weights.</summary>
    private void StoreRaw()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < body.Count; i++)
        {
            int k = _companderOffsets[i];
            switch (body[i])
            {
                case LowRankLinear linear:
                    linear.StoreRaw(compander[k], compander[k + 1]);
                    break;
                case LowRankConv2d conv:
                    conv.StoreRaw(compander[k], compander[k + 1]);
                    break;
                case Linear linear:
                    using (Tensor raw = compander[k].Expand(linear.weight!))
                    {
                        linear.weight!.copy_(raw);
                    }
                    break;
                case DenseConv2d conv:
                    using (Tensor raw = compander[k].Expand(conv.Weight))
                    {
                        conv.Weight.copy_(raw);
                    }
                    break;
            }
        }
    }

    /// <summary>Body layer <paramref name="i"/> on <paramref name="x"/>, its weights read through their companders.</summary>
    private Tensor CompandedLayer(int i, Tensor x)
    {
        int k = _companderOffsets[i];
        return body[i] switch
        {
            LowRankLinear linear => linear.Forward(x, compander[k], compander[k + 1]),
            LowRankConv2d conv => conv.Forward(x, compander[k], compander[k + 1]),
            Linear linear => nn.functional.linear(x, compander[k].call(linear.weight!), linear.bias),
            DenseConv2d conv => conv.Forward(x, compander[k].call(conv.Weight)),
            _ => throw new InvalidOperationException($"No weight compander for {body[i].GetType().Name}."),
        };
    }

    /// <summary>A plain copy of body layer <paramref name="i"/> holding its effective weights (active components only).</summary>
    private Module<Tensor, Tensor> BakedLayer(int i)
    {
        using var noGrad = no_grad();
        int k = _companderOffsets[i];
        switch (body[i])
        {
            case LowRankLinear linear:
                return linear.Baked(compander[k], compander[k + 1]);
            case LowRankConv2d conv:
                return conv.Baked(compander[k], compander[k + 1]);
            case Linear linear:
                var copy = CloneLinear(linear);
                using (Tensor effective = compander[k].call(linear.weight!))
                {
                    copy.weight!.copy_(effective);
                }
                return copy;
            case DenseConv2d conv:
                using (Tensor effective = compander[k].call(conv.Weight))
                {
                    return conv.WithKernel(effective);
                }
            default:
                throw new InvalidOperationException($"No weight compander for {body[i].GetType().Name}.");
        }
    }

    /// <summary>
    /// Initialises this factorised network from a dense one of the same layout: every body layer takes the leading
    /// components of the dense layer's SVD (its best approximation at this layer's rank, Eckart–Young) and the
    /// classifier is copied. Used after a dense warm-up, so ordered-dropout training starts on post-hoc SVD's curve.
    /// </summary>
    public void CopyFromDense(ClassifierNetwork dense)
    {
        ArgumentNullException.ThrowIfNull(dense);
        if (!IsLowRank || dense.IsLowRank || dense.Layers.Count != Layers.Count)
        {
            throw new InvalidOperationException("CopyFromDense needs a dense network of this factorised network's layout.");
        }
        using var noGrad = no_grad();
        using ClassifierNetwork factors = dense.ToFactorized();
        IReadOnlyList<IFactorizedLayer> source = factors.Factorized;
        IReadOnlyList<IFactorizedLayer> target = Factorized;
        for (int i = 0; i < target.Count; i++)
        {
            target[i].CopyComponentsFrom(source[i]);
            target[i].ActiveRank = target[i].FullRank;
        }
        classifier.weight!.copy_(dense.classifier.weight!);
        classifier.bias!.copy_(dense.classifier.bias!);
        if (IsCompanded)
        {
            // The SVD factors are the effective weights to start from; store their raw values.
            StoreRaw();
        }
    }

    /// <summary>
    /// Post-hoc SVD of a dense baseline: every body layer becomes its exact full-rank factorisation, so truncating
    /// it keeps the top singular components (Eckart–Young), the comparison Maestro's paper draws.
    /// </summary>
    public ClassifierNetwork ToFactorized()
    {
        using var noGrad = no_grad();
        var modules = new List<Module<Tensor, Tensor>>();
        foreach (Module<Tensor, Tensor> module in body)
        {
            modules.Add(module switch
            {
                Linear linear => LowRankLinear.FromDense(linear.weight!, linear.bias),
                DenseConv2d conv => LowRankConv2d.FromDense(conv.Weight, conv.Bias, 0),
                Conv2d conv => LowRankConv2d.FromDense(conv.weight!, conv.bias, 0),
                _ => throw new InvalidOperationException("ToFactorized needs a dense network."),
            });
        }
        var network = new ClassifierNetwork(InputShape, Layers, modules, CloneLinear(classifier)) { FeatureTruncation = FeatureTruncation };
        network.SetOutputPixels();
        return network;
    }

    /// <summary>
    /// A copy with every factorised layer's components beyond its active rank physically removed (dense layers are
    /// copied). A companded network's copy is plain: it holds the effective weights f(θ) and no companders, so it
    /// computes the same outputs as an ordinary network (what the model file and the ONNX export contain).
    /// </summary>
    public ClassifierNetwork Shrunk()
    {
        using var noGrad = no_grad();
        var modules = IsCompanded
            ? Enumerable.Range(0, body.Count).Select(BakedLayer).ToList()
            : body.Select(m => m is IFactorizedLayer f ? (Module<Tensor, Tensor>)f.Slice(f.ActiveRank) : CloneModule(m)).ToList();
        var network = new ClassifierNetwork(InputShape, Layers, modules, CloneLinear(classifier)) { FeatureTruncation = FeatureTruncation };
        network.SetOutputPixels();
        return network;
    }

    /// <summary>Sets every factorised layer's truncation (null restores the active ranks).</summary>
    public void SetTruncation(IReadOnlyList<int>? ranks)
    {
        IReadOnlyList<IFactorizedLayer> layers = Factorized;
        for (int i = 0; i < layers.Count; i++)
        {
            layers[i].Truncation = ranks?[i];
        }
    }

    /// <summary>Parameters of the network with the factorised layers at <paramref name="ranks"/> (null: active ranks).</summary>
    public long ParameterCount(IReadOnlyList<int>? ranks = null)
    {
        long total = classifier.parameters().Sum(p => p.numel());
        int f = 0;
        foreach (Module<Tensor, Tensor> module in body)
        {
            total += module is IFactorizedLayer layer
                ? layer.ParameterCount(ranks?[f++] ?? layer.ActiveRank)
                : module.parameters().Sum(p => p.numel());
        }
        return total;
    }

    /// <summary>FLOPs per sample (2 per multiply–accumulate of the convolutions and matrix products).</summary>
    public long Flops(IReadOnlyList<int>? ranks = null)
    {
        long total = 2L * classifier.in_features * classifier.out_features;
        int f = 0;
        var pixels = OutputPixels();
        for (int i = 0; i < body.Count; i++)
        {
            LayerShape shape = Layers[i];
            if (body[i] is IFactorizedLayer layer)
            {
                total += layer.Flops(ranks?[f++] ?? layer.ActiveRank);
            }
            else
            {
                long pix = shape.Convolution ? pixels[i] : 1;
                long k2 = shape.Convolution ? shape.KernelSize * shape.KernelSize : 1;
                total += 2L * pix * shape.In * shape.Out * k2;
            }
        }
        return total;
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Head(MaskedFeatures(input)).MoveToOuterDisposeScope();
    }

    /// <summary>Penultimate features after the feature mask (nested dropout's truncation): what the classifier sees.</summary>
    public Tensor MaskedFeatures(Tensor input)
    {
        using var scope = NewDisposeScope();
        return feature_mask.call(Features(input)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The classifier alone, on features of <see cref="MaskedFeatures"/> (any leading shape whose last dimension is
    /// <see cref="FeatureCount"/>): <c>forward(x) = Head(MaskedFeatures(x))</c>. Lets a training step feed the same
    /// classifier several altered copies of one feature batch (multi-sample dropout).
    /// </summary>
    public Tensor Head(Tensor features) => classifier.call(features);

    /// <summary>The classifier's weight (classes × features) and bias, for scoring every feature truncation at once.</summary>
    public (Tensor Weight, Tensor Bias) ClassifierWeights => (classifier.weight!, classifier.bias!);

    /// <summary>Penultimate features (the classifier's input) before any nested-dropout truncation.</summary>
    public Tensor Features(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor x = input.reshape([input.shape[0], .. InputShape.Select(d => (long)d)]);
        for (int i = 0; i < body.Count; i++)
        {
            x = nn.functional.relu(IsCompanded ? CompandedLayer(i, x) : body[i].call(x));
            if (Layers[i].Convolution)
            {
                x = nn.functional.max_pool2d(x, 2);
                if (i + 1 == body.Count || !Layers[i + 1].Convolution)
                {
                    x = x.flatten(1);
                }
            }
        }
        return x.MoveToOuterDisposeScope();
    }

    private static IReadOnlyList<int> InputShapeFor(string kind, IReadOnlyList<int> sampleShape)
    {
        int size = sampleShape.Aggregate(1, (a, b) => a * b);
        if (kind != ModelKinds.Cnn)
        {
            return [size];
        }
        return sampleShape.Count switch
        {
            2 => [1, sampleShape[0], sampleShape[1]],
            3 when sampleShape[0] <= 4 => [sampleShape[0], sampleShape[1], sampleShape[2]],
            // Channels-last images (H, W, C) are not what the IDX/CIFAR readers produce; refuse rather than guess.
            _ => throw new ArgumentException($"A CNN needs (H, W) or (C, H, W) samples; got [{string.Join(", ", sampleShape)}]."),
        };
    }

    /// <summary>
    /// Layer shapes: the MLP's hidden layers, or for the CNN two 5×5 convolutions (LeNet-like 20, 50 channels for one
    /// input channel, as in Maestro's LeNet; 64, 128 for colour images) followed by the hidden fully connected layers.
    /// </summary>
    private static IReadOnlyList<LayerShape> Architecture(ModelSpec model, IReadOnlyList<int> inputShape)
    {
        var layers = new List<LayerShape>();
        int previous = inputShape.Aggregate(1, (a, b) => a * b);
        if (model.Kind == ModelKinds.Cnn)
        {
            IReadOnlyList<int> channels = model.Channels ?? (inputShape[0] == 1 ? [20, 50] : [64, 128]);
            int c = inputShape[0], h = inputShape[1], w = inputShape[2];
            foreach (int outChannels in channels)
            {
                int k = Math.Min(5, Math.Min(h, w));
                layers.Add(new LayerShape(true, c, outChannels, k));
                c = outChannels;
                h = (h - k + 1) / 2;
                w = (w - k + 1) / 2;
                if (h < 1 || w < 1)
                {
                    throw new ArgumentException("The images are too small for that many convolution layers.");
                }
            }
            previous = c * h * w;
        }
        foreach (int width in model.Hidden)
        {
            layers.Add(new LayerShape(false, previous, width));
            previous = width;
        }
        return layers;
    }

    private long[] OutputPixels()
    {
        var pixels = new long[Layers.Count];
        if (InputShape.Count == 3)
        {
            int h = InputShape[1], w = InputShape[2];
            for (int i = 0; i < Layers.Count && Layers[i].Convolution; i++)
            {
                int k = Layers[i].KernelSize;
                pixels[i] = (long)(h - k + 1) * (w - k + 1);
                h = (h - k + 1) / 2;
                w = (w - k + 1) / 2;
            }
        }
        return pixels;
    }

    private void SetOutputPixels()
    {
        long[] pixels = OutputPixels();
        for (int i = 0; i < body.Count; i++)
        {
            if (body[i] is LowRankConv2d conv)
            {
                conv.OutputPixels = pixels[i];
            }
        }
    }

    private static Linear CloneLinear(Linear source)
    {
        var copy = nn.Linear(source.in_features, source.out_features, device: source.weight!.device);
        using var noGrad = no_grad();
        copy.weight!.copy_(source.weight);
        copy.bias!.copy_(source.bias!);
        return copy;
    }

    private static Module<Tensor, Tensor> CloneModule(Module<Tensor, Tensor> source)
    {
        switch (source)
        {
            case Linear linear:
                return CloneLinear(linear);
            case DenseConv2d dense:
                return dense.Clone();
            case Conv2d conv:
                var copy = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size[0], device: conv.weight!.device);
                using (no_grad())
                {
                    copy.weight!.copy_(conv.weight);
                    copy.bias!.copy_(conv.bias!);
                }
                return copy;
            default:
                throw new InvalidOperationException($"Cannot copy {source.GetType().Name}.");
        }
    }
}
