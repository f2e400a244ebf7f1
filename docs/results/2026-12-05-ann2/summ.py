#!/usr/bin/python3
"""summ.py FILE.jsonl...: markdown table of bench ann --hnswlib lines (medians, spread, ratios)."""
import json, sys
for path in sys.argv[1:]:
    recs = [json.loads(l) for l in open(path) if l.strip()]
    if not recs:
        continue
    r0 = recs[0]
    print(f"##### {r0['dataset']} (n={r0['n']:,}, {r0['nq']:,} queries, {r0.get('samples')} samples x {r0.get('passes')} passes)\n")
    print("| ef | recall@10 hnswlib / milvago | QPS 1T hnswlib median (min-max) | QPS 1T milvago median (min-max) | ratio of medians | paired ratio median (min-max) | load avg (max); machine busy |")
    print("|---|---|---|---|---|---|---|")
    for r in recs:
        ef = r['params'].rsplit('ef=', 1)[-1]
        print(f"| {ef} | {r['ref_recall10']:.4f} / {r['recall10']:.4f} | {r['ref_qps_1t']:,.0f} ({r['ref_qps_1t_min']:,.0f}-{r['ref_qps_1t_max']:,.0f}) | "
              f"{r['qps_1t']:,.0f} ({r['qps_1t_min']:,.0f}-{r['qps_1t_max']:,.0f}) | {r['ratio']:.2f} | {r['ratio_paired']:.2f} ({r['ratio_paired_min']:.2f}-{r['ratio_paired_max']:.2f}) | "
              f"{r['loadavg']:.0f} ({r['loadavg_max']:.0f}); {100*r.get('cpu_busy', 0):.0f}% |")
    print(f"\nbuild (2 threads): hnswlib {r0['ref_build_s']:.1f} s wall, {r0['ref_build_cpu_s']:.2f} CPU-s, RSS +{r0['ref_rss_growth_mb']:.0f} MB; "
          f"Milvago {r0['build_s']:.1f} s wall, {r0['build_cpu_s']:.2f} CPU-s, RSS +{r0['rss_growth_mb']:.0f} MB (retained {r0['rss_retained_mb']:.0f} MB, serialized {r0['index_mb']:.0f} MB)\n")
