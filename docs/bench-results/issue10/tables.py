import json, glob, statistics as st, collections
def ms(xs, f="{:.4f}"):
    return (f.format(st.mean(xs)) + (" ± " + f.format(st.stdev(xs)) if len(xs) > 1 else "")) if xs else "—"
rows = collections.defaultdict(list)
for f in sorted(glob.glob('docs/bench-results/issue10/n-s*-*.json')):
    seed = int(f.split('n-s')[1].split('-')[0])
    for r in json.load(open(f))['results']:
        rows[r['method']].append((seed, r))
sub = collections.defaultdict(list)
for f in sorted(glob.glob('docs/bench-results/issue10/sub-s*.json')):
    seed = int(f.split('sub-s')[1].split('.')[0])
    for r in json.load(open(f))['results']:
        sub[r['method']].append((seed, r))
names = {'standard': 'standard', 'elr': 'ELR alone (β 0.7, λ 3)', 'coteaching': 'co-teaching',
         'coteaching-msd': 'co-teaching + multi-sample dropout (K 8, p 0.5)', 'coteaching-compander': 'co-teaching + compander (unverified form)'}
out = []
out.append("| method | seeds | final (shipped), mean ± sd | per seed | last epoch | best (oracle) | label precision | wall s per run |")
out.append("|---|---|---|---|---|---|---|---|")
for m in ['standard', 'elr', 'coteaching', 'coteaching-msd', 'coteaching-compander']:
    rs = sorted(rows.get(m, []), key=lambda x: x[0])
    if not rs: continue
    fin = [r['finalAccuracy'] for _, r in rs]
    out.append(f"| {names[m]} | {len(rs)} | {ms(fin)} | {', '.join(f'{x:.4f}' for x in fin)} | {ms([r['lastEpochAccuracy'] for _,r in rs])} | {ms([r['bestAccuracy'] for _,r in rs])} | {ms([r['labelPrecision'] for _,r in rs], '{:.3f}')} | {ms([r['seconds'] for _,r in rs], '{:.0f}')} |")
out.append("")
out.append("| subset (co-teaching, 30 %) | seeds | final (shipped), mean ± sd | per seed | label precision | train s | selection s | selection / train |")
out.append("|---|---|---|---|---|---|---|---|")
allrows = sorted(rows.get('coteaching', []))
for m in ['informative', 'random']:
    rs = sorted(sub.get(m, []))
    if not rs: continue
    fin = [r['finalAccuracy'] for _, r in rs]
    out.append(f"| {m} 30 % | {len(rs)} | {ms(fin)} | {', '.join(f'{x:.4f}' for x in fin)} | {ms([r['labelPrecision'] for _,r in rs], '{:.3f}')} | {ms([r['trainSeconds'] for _,r in rs], '{:.0f}')} | {ms([r['selectionSeconds'] for _,r in rs], '{:.1f}')} | {ms([r['selectionShare'] for _,r in rs], '{:.2f}')} |")
fin = [r['finalAccuracy'] for _, r in allrows]
out.append(f"| all data (the co-teaching rows above) | {len(allrows)} | {ms(fin)} | {', '.join(f'{x:.4f}' for x in fin)} | {ms([r['labelPrecision'] for _,r in allrows], '{:.3f}')} | — | 0 | 0 |")
out.append("")
out.append("Epochs (and wall seconds) until the test accuracy first reaches a level, per seed:")
out.append("")
out.append("| method | ≥ 0.84 | ≥ 0.85 | ≥ 0.86 |")
out.append("|---|---|---|---|")
for m in ['coteaching', 'coteaching-msd', 'coteaching-compander']:
    cells = []
    for thr in (0.84, 0.85, 0.86):
        parts = []
        for s, r in sorted(rows.get(m, [])):
            acc = r['testAccuracyPerEpoch']; secs = r.get('secondsPerEpoch') or []
            e = next((i + 1 for i, a in enumerate(acc) if a >= thr), None)
            parts.append(f"{e} ({sum(secs[:e]):.0f} s)" if e else "never")
        cells.append(", ".join(parts))
    out.append(f"| {names[m]} | " + " | ".join(cells) + " |")
print("\n".join(out))
