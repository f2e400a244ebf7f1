#!/usr/bin/python3
"""FAISS IVF-PQ fast scan (4-bit, m = d/2) with and without an exact re-rank
(IndexRefineFlat, k_factor = reorder_k / 10), with the protocol of
../../../../shared/bench/bench_anchor.py (its timing and recall helpers are
imported from there): recall@10 over the first NQ queries, one query per call
on one thread (QPS from thread CPU time), batch on two threads.

    /usr/bin/python3 faiss_ivfpqfs.py DATASET_DIR NLIST "nprobe:reorder_k ..." [--nq 1000]

Debian's python3-faiss 1.7.3 is a GENERIC build (no AVX2): its fast-scan
kernels run on emulated SIMD, so these rows understate FAISS.
"""
import argparse, os, sys, time, types

sys.modules.setdefault("hnswlib", types.ModuleType("hnswlib"))  # bench_anchor imports it; unused here
sys.path.insert(0, os.environ.get("BENCH_DIR", "/work/shared/bench"))
import faiss  # noqa: E402
import bench_anchor as ba  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("nlist", type=int)
    ap.add_argument("settings", help='space-separated nprobe:reorder_k pairs, e.g. "16:50 32:100"')
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    X = ba.load(os.path.join(a.dataset, "base.fvecs"))
    Q = ba.load(os.path.join(a.dataset, "query.fvecs"))[: a.nq]
    GT = ba.load(os.path.join(a.dataset, "gt.ivecs"))[: a.nq]
    d = X.shape[1]
    m = d // 2
    faiss.omp_set_num_threads(a.threads)
    q = faiss.IndexFlatL2(d)  # metric ip data sets are unit-norm: L2 rank == IP rank
    base = faiss.IndexIVFPQFastScan(q, d, a.nlist, m, 4)
    t0 = time.perf_counter()
    c0 = time.process_time()
    base.train(X)
    idx = faiss.IndexRefineFlat(base)
    idx.add(X)
    build = dict(build_s=time.perf_counter() - t0, build_cpu_s=time.process_time() - c0)
    print(f"{os.path.basename(a.dataset.rstrip('/'))}: faiss {faiss.__version__} IVF{a.nlist},PQ{m}x4fs build {build['build_s']:.1f}s, load {os.getloadavg()[0]:.1f}")
    for s in a.settings.split():
        nprobe, rk = (int(x) for x in s.split(":"))
        base.nprobe = nprobe
        for name, index in (("IVFPQfs", base), ("IVFPQfs+RFlat", idx)):
            if name == "IVFPQfs+RFlat":
                idx.k_factor = rk / ba.K
            faiss.omp_set_num_threads(1)

            def s1(x, index=index):
                return index.search(x, ba.K)

            def sb(Qb, index=index):
                faiss.omp_set_num_threads(a.threads)
                _, I = index.search(Qb, ba.K)
                faiss.omp_set_num_threads(1)
                return I
            rb, I = ba.time_batch(sb, Q, a.threads)
            rec = ba.recall_at_k(I, GT)
            r1 = ba.time_single(s1, Q, 100, 3.0)
            label = f"nprobe={nprobe}" + (f",reorder_k={rk}" if name.endswith("RFlat") else "")
            print(f"  faiss-{name:14s} {label:28s} recall@10 {rec:.4f}  QPS 1T (cpu) {r1['qps_1t']:8.0f}  wall {r1['qps_1t_wall']:8.0f}  p50 {r1['lat_us_1t_p50']:7.1f}us  batch {rb['qps_batch']:8.0f}", flush=True)


if __name__ == "__main__":
    main()
