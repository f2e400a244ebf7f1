#!/usr/bin/python3
"""both.py BASE.jsonl NEW.jsonl: per ef, recall, QPS of both engines and the paired ratio, before (BASE) and after (NEW)."""
import json, statistics, sys
def load(p):
    out = {}
    for l in open(p):
        if l.strip():
            r = json.loads(l); out[int(r['params'].rsplit('ef=', 1)[-1])] = r
    return out
b, n = load(sys.argv[1]), load(sys.argv[2])
def pr(r):
    v = [m / h for m, h in zip(r['qps_1t_samples'], r['ref_qps_1t_samples'])]
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
print("| ef | recall@10 hnswlib / milvago | before: QPS 1T hnswlib / milvago (medians) | before: paired ratio median (min-max) | after: QPS 1T hnswlib / milvago (medians) | after: paired ratio median (min-max) | load avg before / after |")
print("|---|---|---|---|---|---|---|")
for ef in sorted(set(b) | set(n)):
    rb, rn = b.get(ef), n.get(ef)
    r = rn or rb
    cb = f"{rb['ref_qps_1t']:,.0f} / {rb['qps_1t']:,.0f} | {pr(rb)}" if rb else "- | -"
    cn = f"{rn['ref_qps_1t']:,.0f} / {rn['qps_1t']:,.0f} | {pr(rn)}" if rn else "- | -"
    la = f"{rb['loadavg']:.0f} / {rn['loadavg']:.0f}" if rb and rn else "-"
    rec = f"{r['ref_recall10']:.4f} / {r['recall10']:.4f}"
    if rb and rn and rb['recall10'] != rn['recall10']:
        rec += f" (before {rb['recall10']:.4f})"
    print(f"| {ef} | {rec} | {cb} | {cn} | {la} |")
r0b, r0n = next(iter(b.values())), next(iter(n.values()))
print(f"\nbuild (2 threads), before: hnswlib {r0b['ref_build_s']:.1f} s wall, {r0b['ref_build_cpu_s']:.2f} CPU-s; Milvago {r0b['build_s']:.1f} s wall, {r0b['build_cpu_s']:.2f} CPU-s. "
      f"After: hnswlib {r0n['ref_build_s']:.1f} s wall, {r0n['ref_build_cpu_s']:.2f} CPU-s; Milvago {r0n['build_s']:.1f} s wall, {r0n['build_cpu_s']:.2f} CPU-s.")
