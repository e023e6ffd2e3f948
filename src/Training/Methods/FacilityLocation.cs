namespace Training.Methods;

/// <summary>
/// Facility-location subset selection as INGENIOUS uses it (Renduchintala et al. 2023, "INGENIOUS: Using Informative
/// Data Subsets for Efficient Pre-Training of Language Models"; Efficient-AI/ingenious, MIT licence, which calls
/// submodlib's facility location per partition; this is our own code): F(S) = Σ_i max_{j∈S} sim(i, j) over a ground set,
/// maximised under |S| ≤ k by greedy, which for a monotone submodular F is within 1 − 1/e of the optimum
/// (Nemhauser et al. 1978). Lazy greedy (Minoux 1978) keeps every candidate's last gain as an upper bound in a
/// priority queue and only re-evaluates the top, which by submodularity picks the same element as plain greedy.
/// F is monotone only for non-negative similarities (coverage starts at 0), so callers pass a shifted similarity,
/// e.g. (1 + cos)/2. Similarities are a symmetric m × m row-major matrix; everything here runs on the host.
/// </summary>
public static class FacilityLocation
{
    /// <summary>F(S) = Σ_i max_{j∈S} sim(i, j) (0 for the empty set).</summary>
    public static double Objective(float[] similarity, int m, IReadOnlyCollection<int> selected)
    {
        double total = 0;
        for (int i = 0; i < m; i++)
        {
            double best = 0;
            foreach (int j in selected)
            {
                best = Math.Max(best, similarity[(long)i * m + j]);
            }
            total += best;
        }
        return total;
    }

    /// <summary>Plain greedy: k times the element of largest marginal gain (ties to the smaller index).</summary>
    public static int[] Greedy(float[] similarity, int m, int budget)
    {
        Check(similarity, m);
        int k = Math.Clamp(budget, 0, m);
        var coverage = new double[m];
        var taken = new bool[m];
        var selected = new List<int>(k);
        for (int round = 0; round < k; round++)
        {
            int best = -1;
            double bestGain = double.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                if (!taken[j] && Gain(similarity, m, coverage, j) is double gain && gain > bestGain)
                {
                    (best, bestGain) = (j, gain);
                }
            }
            Take(similarity, m, coverage, best);
            taken[best] = true;
            selected.Add(best);
        }
        return [.. selected];
    }

    /// <summary>
    /// Lazy greedy: the same elements in the same order as <see cref="Greedy"/>. Each candidate's last computed gain
    /// bounds its current gain from above (submodularity), so a candidate whose fresh gain still beats every other
    /// bound (ties to the smaller index) is the plain greedy choice; the others wait in the queue.
    /// </summary>
    public static int[] LazyGreedy(float[] similarity, int m, int budget)
    {
        Check(similarity, m);
        int k = Math.Clamp(budget, 0, m);
        var coverage = new double[m];
        var queue = new PriorityQueue<int, (double Bound, int Index)>(m, BoundOrder.Instance);
        for (int j = 0; j < m; j++)
        {
            queue.Enqueue(j, (double.PositiveInfinity, j));
        }
        var selected = new List<int>(k);
        while (selected.Count < k)
        {
            int j = queue.Dequeue();
            double gain = Gain(similarity, m, coverage, j);
            if (!queue.TryPeek(out _, out var next) || BoundOrder.Instance.Compare((gain, j), next) <= 0)
            {
                Take(similarity, m, coverage, j);
                selected.Add(j);
            }
            else
            {
                queue.Enqueue(j, (gain, j));
            }
        }
        return [.. selected];
    }

    /// <summary>
    /// Splits <paramref name="total"/> over groups in proportion to <paramref name="sizes"/> by largest remainder
    /// (Hamilton): each group gets ⌊total·size/Σsize⌋ and the remaining units go to the largest fractional parts, ties to
    /// the earlier group. The shares sum to <paramref name="total"/>, and none exceeds its group's size when total ≤ Σsize.
    /// </summary>
    public static int[] Apportion(IReadOnlyList<int> sizes, int total)
    {
        long sum = sizes.Sum(s => (long)s);
        var shares = new int[sizes.Count];
        if (sum == 0 || total <= 0)
        {
            return shares;
        }
        var remainders = new (long Remainder, int Index)[sizes.Count];
        long given = 0;
        for (int g = 0; g < sizes.Count; g++)
        {
            long scaled = (long)total * sizes[g];
            shares[g] = (int)(scaled / sum);
            remainders[g] = (scaled % sum, g);
            given += shares[g];
        }
        foreach (var (_, index) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Index).Take((int)(total - given)))
        {
            shares[index]++;
        }
        return shares;
    }

    /// <summary>
    /// INGENIOUS's partitioning, per class for classification: a seeded random permutation of the N samples is cut into
    /// <paramref name="partitions"/> parts of ⌊N/P⌋ or ⌈N/P⌉ samples; the subset's <paramref name="budget"/> is
    /// apportioned over the parts by size (<see cref="Apportion"/>) and each part's share over its classes by size. Returns
    /// each non-empty (part, class) group's members (sample indices, ascending) and budget; the budgets sum to
    /// <paramref name="budget"/> (at most N).
    /// </summary>
    public static IReadOnlyList<(int[] Members, int Budget)> Groups(IReadOnlyList<long> labels, int partitions, int budget, Random random)
    {
        int n = labels.Count;
        int[] order = Enumerable.Range(0, n).ToArray();
        random.Shuffle(order);
        int parts = Math.Clamp(partitions, 1, Math.Max(n, 1));
        var partSizes = Enumerable.Range(0, parts).Select(p => n / parts + (p < n % parts ? 1 : 0)).ToArray();
        int[] partBudgets = Apportion(partSizes, Math.Min(budget, n));
        var groups = new List<(int[], int)>();
        int start = 0;
        for (int p = 0; p < parts; p++)
        {
            var byClass = order.AsSpan(start, partSizes[p]).ToArray().GroupBy(i => labels[i]).OrderBy(g => g.Key)
                .Select(g => g.Order().ToArray()).ToArray();
            int[] classBudgets = Apportion(byClass.Select(c => c.Length).ToArray(), partBudgets[p]);
            for (int c = 0; c < byClass.Length; c++)
            {
                groups.Add((byClass[c], classBudgets[c]));
            }
            start += partSizes[p];
        }
        return groups;
    }

    /// <summary>Σ_i max(0, sim(i, j) − coverage_i), read along row j (the matrix is symmetric).</summary>
    private static double Gain(float[] similarity, int m, double[] coverage, int j)
    {
        double gain = 0;
        long row = (long)j * m;
        for (int i = 0; i < m; i++)
        {
            double d = similarity[row + i] - coverage[i];
            if (d > 0)
            {
                gain += d;
            }
        }
        return gain;
    }

    private static void Take(float[] similarity, int m, double[] coverage, int j)
    {
        long row = (long)j * m;
        for (int i = 0; i < m; i++)
        {
            coverage[i] = Math.Max(coverage[i], similarity[row + i]);
        }
    }

    private static void Check(float[] similarity, int m)
    {
        if (similarity.LongLength != (long)m * m)
        {
            throw new ArgumentException($"Expected an {m} × {m} similarity matrix, got {similarity.LongLength} values.", nameof(similarity));
        }
    }

    /// <summary>Larger bound first, then the smaller index (PriorityQueue dequeues the smallest).</summary>
    private sealed class BoundOrder : IComparer<(double Bound, int Index)>
    {
        public static readonly BoundOrder Instance = new();

        public int Compare((double Bound, int Index) x, (double Bound, int Index) y)
        {
            int byBound = y.Bound.CompareTo(x.Bound);
            return byBound != 0 ? byBound : x.Index.CompareTo(y.Index);
        }
    }
}
