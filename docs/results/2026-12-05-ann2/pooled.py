#!/usr/bin/python3
"""pooled.py FILE.jsonl...: per ef, the paired ratios of every sample of every run pooled."""
import json, statistics, sys
by = {}
for p in sys.argv[1:]:
    for l in open(p):
        if l.strip():
            r = json.loads(l)
            ef = int(r['params'].rsplit('ef=', 1)[-1])
            pairs = [m / h for m, h in zip(r['qps_1t_samples'], r['ref_qps_1t_samples'])]
            by.setdefault(ef, []).extend(pairs)
print("| ef | paired samples | paired ratio median | 25th-75th percentile | share of samples >= 1.2 |")
print("|---|---|---|---|---|")
for ef in sorted(by):
    v = sorted(by[ef]); q = statistics.quantiles(v, n=4)
    print(f"| {ef} | {len(v)} | {statistics.median(v):.2f} | {q[0]:.2f}-{q[2]:.2f} | {sum(x >= 1.2 for x in v)}/{len(v)} |")
