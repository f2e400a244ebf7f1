#!/usr/bin/python3
"""summ.py FILE.jsonl...: per ef, recall, QPS of both (median, min-max), ratio of medians, paired ratio median (min-max), load."""
import json, statistics, sys
print("| ef | recall@10 hnswlib / milvago | QPS 1T hnswlib median (min-max) | QPS 1T milvago median (min-max) | ratio of medians | paired ratio median (min-max) | load avg (max) |")
print("|---|---|---|---|---|---|---|")
for p in sys.argv[1:]:
    for l in open(p):
        if not l.strip(): continue
        r = json.loads(l)
        ef = r['params'].rsplit('ef=', 1)[-1]
        pr = [m / h for m, h in zip(r['qps_1t_samples'], r['ref_qps_1t_samples'])]
        print(f"| {ef} | {r['ref_recall10']:.4f} / {r['recall10']:.4f} | {r['ref_qps_1t']:,.0f} ({r['ref_qps_1t_min']:,.0f}-{r['ref_qps_1t_max']:,.0f}) | {r['qps_1t']:,.0f} ({r['qps_1t_min']:,.0f}-{r['qps_1t_max']:,.0f}) | {r['ratio']:.2f} | {statistics.median(pr):.2f} ({min(pr):.2f}-{max(pr):.2f}) | {r['loadavg']:.0f} ({r['loadavg_max']:.0f}) |")
