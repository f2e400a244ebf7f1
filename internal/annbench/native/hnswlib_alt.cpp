// hnswlib_alt: hnswlib (Debian libhnswlib-dev headers) built -O3 -march=native, driven by
// `milvago bench ann --hnswlib BIN` so that Milvago and hnswlib are measured alternately in
// the same minutes on the same data (see internal/annbench/alt.go).
//
//   g++ -O3 -march=native -pthread -o hnswlib_alt hnswlib_alt.cpp
//   hnswlib_alt DATASET_DIR NQ THREADS M EFC
//
// It builds the index exactly as ../shared/bench/hnsw_native.cpp does (L2 space, point 0
// first, then THREADS threads), prints one JSON line describing the build, then serves
// one command per line on stdin:
//
//   search EF PASSES  -> answers the first NQ queries PASSES times, one at a time, on this
//                        (one) thread; prints {"cpu_s":..,"wall_s":..,"recall10":..}
//                        (thread CPU time and wall time of the passes; recall from one more, untimed pass)
//   quit              -> exits
#include <hnswlib/hnswlib.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <time.h>

static std::vector<float> read_fvecs(const std::string &p, int &d, size_t &n) {
    std::ifstream f(p, std::ios::binary);
    if (!f) { fprintf(stderr, "cannot open %s\n", p.c_str()); exit(2); }
    f.seekg(0, std::ios::end); size_t sz = f.tellg(); f.seekg(0);
    int dd; f.read((char *)&dd, 4); d = dd; n = sz / (4 * (size_t)(d + 1)); f.seekg(0);
    std::vector<float> out(n * d); std::vector<float> row(d + 1);
    for (size_t i = 0; i < n; i++) { f.read((char *)row.data(), 4 * (d + 1)); std::copy(row.begin() + 1, row.end(), out.begin() + i * d); }
    return out;
}
static std::vector<int> read_ivecs(const std::string &p, int &d, size_t &n) {
    std::vector<float> v = read_fvecs(p, d, n); std::vector<int> o(v.size()); memcpy(o.data(), v.data(), v.size() * 4); return o;
}
static double wall() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
static double tcpu() { timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double pcpu() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static long rss_kb() { FILE *f = fopen("/proc/self/status", "r"); char l[256]; long v = 0; while (fgets(l, 256, f)) if (!strncmp(l, "VmRSS:", 6)) sscanf(l + 6, "%ld", &v); fclose(f); return v; }

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s DATASET_DIR NQ THREADS M EFC\n", argv[0]); return 2; }
    std::string dir = argv[1];
    size_t nqmax = atoi(argv[2]); int T = std::max(1, atoi(argv[3])); int M = atoi(argv[4]); int efc = atoi(argv[5]);
    int d, dq, dg; size_t n, nq, ng;
    auto X = read_fvecs(dir + "/base.fvecs", d, n); auto Q = read_fvecs(dir + "/query.fvecs", dq, nq); auto G = read_ivecs(dir + "/gt.ivecs", dg, ng);
    if (nqmax > 0) nq = std::min(nq, nqmax);
    hnswlib::L2Space space(d);
    long r0 = rss_kb(); double w0 = wall(), c0 = pcpu();
    auto *idx = new hnswlib::HierarchicalNSW<float>(&space, n, M, efc, 100);
    idx->addPoint(X.data(), 0);
    std::atomic<size_t> next(1);
    std::vector<std::thread> th;
    for (int t = 0; t < T; t++) th.emplace_back([&] { size_t i; while ((i = next++) < n) idx->addPoint(X.data() + i * d, i); });
    for (auto &t : th) t.join();
    double build = wall() - w0, build_cpu = pcpu() - c0; long r1 = rss_kb();
    printf("{\"n\": %zu, \"d\": %d, \"nq\": %zu, \"build_s\": %.3f, \"build_cpu_s\": %.3f, \"rss_growth_mb\": %.1f, \"build_threads\": %d}\n",
           n, d, nq, build, build_cpu, (r1 - r0) / 1024.0, T);
    fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line); std::string cmd; in >> cmd;
        if (cmd == "quit") break;
        if (cmd != "search") { printf("{\"error\": \"unknown command\"}\n"); fflush(stdout); continue; }
        int ef = 10, passes = 1; in >> ef >> passes;
        idx->setEf(std::max(ef, 10));
        double w = wall(), c = tcpu();
        for (int p = 0; p < passes; p++)
            for (size_t i = 0; i < nq; i++) idx->searchKnn(Q.data() + i * d, 10);
        double cs = tcpu() - c, ws = wall() - w;
        size_t hits = 0;  // recall from one more, untimed pass
        for (size_t i = 0; i < nq; i++) {
            auto pq = idx->searchKnn(Q.data() + i * d, 10);
            std::set<int> g(G.begin() + i * dg, G.begin() + i * dg + 10);
            while (!pq.empty()) { hits += g.count((int)pq.top().second); pq.pop(); }
        }
        printf("{\"cpu_s\": %.6f, \"wall_s\": %.6f, \"recall10\": %.4f}\n", cs, ws, hits / (10.0 * nq));
        fflush(stdout);
    }
    return 0;
}
