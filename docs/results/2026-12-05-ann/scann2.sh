#!/bin/sh
while pgrep -f /tmp/ann/scann.sh >/dev/null; do sleep 5; done
D=/tmp/ann/data/fashion-mnist-10k
P="nprobe=4+reorder_k=20,8+reorder_k=40,16+reorder_k=100,32+reorder_k=100"
echo "$(date -u +%T) $(cat /proc/loadavg) faiss" >> /tmp/ann/scann/log
/usr/bin/python3 /work/wt/ann/docs/results/2026-12-05-scann/faiss_ivfpqfs.py $D 128 "4:20 8:40 16:100 32:100" > /tmp/ann/scann/fashion-faiss.txt 2>&1
for r in 3 4; do for b in orig v2; do
  echo "$(date -u +%T) $(cat /proc/loadavg) $b r$r" >> /tmp/ann/scann/log
  /tmp/ann/milvago-$b bench ann --threads 2 --dataset $D --index SCANN --metric L2 --build nlist=128 --search "$P" --json > /tmp/ann/scann/fashion-scann-$b-r$r.jsonl 2>>/tmp/ann/scann/log
done; done
echo "$(date -u +%T) $(cat /proc/loadavg) end2" >> /tmp/ann/scann/log
