/* cublas_floor.cu - cuBLAS's own time for a list of GEMMs (bench/cuda).
 *
 * usage: cublas_floor REPS ta tb M P K [ta tb M P K ...]
 * Each quintuple is one row-major C[M,P] = op(A) op(B) as the generated
 * code calls it (dlrt_cuda_sgemm: cublasSgemm with the operands swapped).
 * All of them run back to back on one stream, REPS times after a warm-up,
 * timed with CUDA events; prints the median seconds of one pass over the
 * list, and its GFLOP/s.  Same math mode and workspace as generated code.
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CHECK(x)                                                                      \
    do {                                                                              \
        if ((x) != 0) {                                                               \
            std::fprintf(stderr, "cublas_floor: %s failed at line %d\n", #x, __LINE__); \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

struct Gemm {
    int ta, tb, M, P, K;
    float *A, *B, *C;
};

int main(int argc, char **argv)
{
    if (argc < 7 || (argc - 2) % 5 != 0) {
        std::fprintf(stderr, "usage: cublas_floor REPS ta tb M P K [...]\n");
        return 2;
    }
    int reps = std::atoi(argv[1]);
    std::vector<Gemm> gs;
    double flops = 0;
    for (int i = 2; i < argc; i += 5) {
        Gemm g{std::atoi(argv[i]), std::atoi(argv[i + 1]), std::atoi(argv[i + 2]), std::atoi(argv[i + 3]),
               std::atoi(argv[i + 4]), nullptr, nullptr, nullptr};
        CHECK(cudaMalloc(&g.A, sizeof(float) * (size_t)g.M * g.K));
        CHECK(cudaMalloc(&g.B, sizeof(float) * (size_t)g.K * g.P));
        CHECK(cudaMalloc(&g.C, sizeof(float) * (size_t)g.M * g.P));
        CHECK(cudaMemset(g.A, 0, sizeof(float) * (size_t)g.M * g.K));
        CHECK(cudaMemset(g.B, 0, sizeof(float) * (size_t)g.K * g.P));
        flops += 2.0 * g.M * g.P * g.K;
        gs.push_back(g);
    }
    cudaStream_t s;
    cublasHandle_t h;
    void *ws;
    CHECK(cudaStreamCreate(&s));
    CHECK(cublasCreate(&h));
    CHECK(cublasSetStream(h, s));
    CHECK(cudaMalloc(&ws, (size_t)32 << 20));
    CHECK(cublasSetWorkspace(h, ws, (size_t)32 << 20));
    CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    const float one = 1, zero = 0;
    auto pass = [&]() {
        for (const Gemm &g : gs) {
            int lda = g.ta ? g.M : g.K, ldb = g.tb ? g.K : g.P;
            cublasSgemm(h, g.tb ? CUBLAS_OP_T : CUBLAS_OP_N, g.ta ? CUBLAS_OP_T : CUBLAS_OP_N, g.P, g.M, g.K, &one, g.B, ldb,
                        g.A, lda, &zero, g.C, g.P);
        }
    };
    for (int i = 0; i < 3; i++) pass();
    CHECK(cudaStreamSynchronize(s));
    std::vector<double> t;
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    for (int r = 0; r < reps; r++) {
        CHECK(cudaEventRecord(a, s));
        pass();
        CHECK(cudaEventRecord(b, s));
        CHECK(cudaEventSynchronize(b));
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms / 1e3);
    }
    std::sort(t.begin(), t.end());
    double med = t[t.size() / 2];
    std::printf("%.9f %.1f\n", med, flops / med / 1e9);
    return 0;
}
