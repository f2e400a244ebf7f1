import json,glob,sys,statistics,collections
# summ.py DIR DS TAG...
d, ds = sys.argv[1], sys.argv[2]
tags = sys.argv[3:]
rows = collections.defaultdict(lambda: collections.defaultdict(list))
rec = {}
builds = collections.defaultdict(list)
for f in sorted(glob.glob(f"{d}/{ds}-*.jsonl")):
    eng = f.split(f"{ds}-")[1].split("-")[0]
    tag = f.split("-")[-2]
    if tags and tag not in tags: continue
    first = True
    for l in open(f):
        j = json.loads(l)
        ef = int(j["params"].split("ef=")[1])
        rows[ef][eng].append(j["qps_1t"]); rec[(ef,eng)] = j["recall10"]
        if first: builds[eng].append((j["build_s"], j["build_cpu_s"])); first=False
print(f"| ef | recall@10 hnswlib / milvago | QPS 1T hnswlib median (min-max) | QPS 1T milvago median (min-max) | milvago / hnswlib (median; best/best) |")
print("|---|---|---|---|---|")
for ef in sorted(rows):
    h, m = rows[ef]["hnswlib"], rows[ef]["milvago"]
    if not h or not m: continue
    f = lambda v: f"{statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})"
    print(f"| {ef} | {rec[(ef,'hnswlib')]:.4f} / {rec[(ef,'milvago')]:.4f} | {f(h)} | {f(m)} | {statistics.median(m)/statistics.median(h):.2f}; {max(m)/max(h):.2f} |")
for e,b in builds.items():
    print(f"build {e}: wall " + ", ".join(f"{x[0]:.1f}" for x in b) + " s; CPU " + ", ".join(f"{x[1]:.2f}" for x in b) + " s")
