import json,sys
rows={}
for l in open(sys.argv[1]):
    j=json.loads(l); ef=int(j['params'].split('ef=')[1]); eng='hnswlib' if 'hnswlib' in j['index'] else 'milvago'
    rows.setdefault(ef,{})[eng]=j
print("| ef | recall@10 hnswlib / milvago | QPS 1T hnswlib | QPS 1T milvago | milvago / hnswlib |")
print("|---|---|---|---|---|")
h=m=None
for ef in sorted(rows):
    h,m=rows[ef].get('hnswlib'),rows[ef].get('milvago')
    if not h or not m: continue
    print(f"| {ef} | {h['recall10']:.4f} / {m['recall10']:.4f} | {h['qps_1t']:,.0f} | {m['qps_1t']:,.0f} | {m['qps_1t']/h['qps_1t']:.2f} |")
if h and m:
    print(f"\nBuild (2 threads): hnswlib {h['build_s']:.0f} s wall, {h['build_cpu_s']:.1f} CPU-s; Milvago {m['build_s']:.0f} s wall, {m['build_cpu_s']:.1f} CPU-s "
          f"(Milvago/hnswlib CPU {m['build_cpu_s']/h['build_cpu_s']:.2f}); RSS growth hnswlib {h['rss_growth_mb']:.0f} MB, Milvago {m['rss_growth_mb']:.0f} MB (index {m['index_mb']:.0f} MB serialized).")
