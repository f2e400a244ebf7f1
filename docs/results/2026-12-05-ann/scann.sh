#!/bin/sh
D=/tmp/ann/data/fashion-mnist-10k
P="nprobe=4+reorder_k=20,8+reorder_k=40,16+reorder_k=100,32+reorder_k=100"
for r in 1 2; do for b in orig v2; do
  echo "$(date -u +%T) $(cat /proc/loadavg) $b r$r" >> /tmp/ann/scann/log
  /tmp/ann/milvago-$b bench ann --threads 2 --dataset $D --index SCANN --metric L2 --build nlist=128 --search "$P" --json > /tmp/ann/scann/fashion-scann-$b-r$r.jsonl 2>>/tmp/ann/scann/log
done; done
echo "$(date -u +%T) $(cat /proc/loadavg) ivfpq" >> /tmp/ann/scann/log
/tmp/ann/milvago-v2 bench ann --threads 2 --dataset $D --index IVF_PQ --metric L2 --build nlist=128,m=392,nbits=4 --search nprobe=4,8,16 --json > /tmp/ann/scann/fashion-ivfpq-v2.jsonl 2>>/tmp/ann/scann/log
echo "$(date -u +%T) $(cat /proc/loadavg) end" >> /tmp/ann/scann/log
