import json,glob,statistics,collections
rows=collections.defaultdict(lambda: collections.defaultdict(list)); rec={}
for f in sorted(glob.glob('/tmp/ann/scann/fashion-scann-*.jsonl')):
    tag=f.split('-')[-2]
    for l in open(f):
        j=json.loads(l); p=j['params'].replace('nlist=128,','')
        rows[p][tag].append(j['qps_1t']); rec[p]=j['recall10']
ivf={}
for l in open('/tmp/ann/scann/fashion-ivfpq-v2.jsonl'):
    j=json.loads(l); ivf[j['params'].split('nprobe=')[1]]=(j['recall10'],j['qps_1t'])
print("| SCANN params | recall@10 (before = after) | QPS 1T before: median (runs) | QPS 1T after: median (runs) | after / before | IVF_PQ m=392 nbits=4, same nprobe: recall / QPS 1T | SCANN after / IVF_PQ |")
print("|---|---|---|---|---|---|---|")
for p,v in rows.items():
    b,a=v['orig'],v['v2']
    npb=p.split(',')[0].split('=')[1]
    iv=ivf.get(npb)
    ivs=f"{iv[0]:.4f} / {iv[1]:,.0f}" if iv else "-"
    ratio=f"{statistics.median(a)/iv[1]:.1f}x" if iv else "-"
    print(f"| {p} | {rec[p]:.4f} | {statistics.median(b):,.0f} ({', '.join(f'{x:,.0f}' for x in b)}) | {statistics.median(a):,.0f} ({', '.join(f'{x:,.0f}' for x in a)}) | {statistics.median(a)/statistics.median(b):.2f} | {ivs} | {ratio} |")
