// SPEC §3: batched log-domain Sinkhorn, one block per problem, every iteration inside one launch with
// the potentials f and g in shared memory. A warp computes one LSE at a time (lanes over the other
// side); the cost is read from C or computed on the fly from the point clouds.
//
// The row-marginal error of the current plan costs nothing extra: the f update already computes
// lse_i = LSE_j((g_j - C_ij)/eps), and row i of P sums to exp(f_i/eps + lse_i). So the error is
// checked at the top of every iteration, before f moves, and a converged problem stops there.
#include <cmath>

#include "common.cuh"

namespace ek {
namespace {

constexpr int THREADS = 256;

struct SinkArgs {
    int32_t kind;
    const float* cost; const float* x; const float* y;
    int64_t n, m, d;
    const float* a; const float* b;
    float eps, eps_start, eps_factor, rho, tol;
    int32_t max_iter;
    float* f; float* g; int32_t* iters; float* err; float* tcost; float* obj; float* plan;
};

__device__ __forceinline__ float cost_at(const SinkArgs& s, int64_t p, int64_t i, int64_t j) {
    if (s.kind == EK_COST_GIVEN) return s.cost[(p * s.n + i) * s.m + j];
    const float* xi = s.x + (p * s.n + i) * s.d;
    const float* yj = s.y + (p * s.m + j) * s.d;
    float acc = 0;
    for (int64_t q = 0; q < s.d; ++q) {
        float diff = xi[q] - yj[q];
        acc += s.kind == EK_COST_L1 ? fabsf(diff) : diff * diff;
    }
    return s.kind == EK_COST_L2 ? sqrtf(acc) : acc;
}

__device__ __forceinline__ float log_marginal(const float* w, int64_t p, int64_t i, int64_t len) {
    return w ? logf(w[p * len + i]) : -logf((float)len);
}

// LSE over the warp's lanes of values v (online max per lane, then combined).
struct Lse { float m, s; };
__device__ __forceinline__ Lse lse_add(Lse a, float v) {
    if (v == -INFINITY) return a;
    if (v > a.m) { a.s = a.s * expf(a.m - v) + 1.f; a.m = v; } else { a.s += expf(v - a.m); }
    return a;
}
__device__ __forceinline__ float warp_lse(Lse a) {
    for (int off = 16; off > 0; off >>= 1) {
        float om = __shfl_xor_sync(0xffffffffu, a.m, off), os = __shfl_xor_sync(0xffffffffu, a.s, off);
        float mm = fmaxf(a.m, om);
        if (mm == -INFINITY) continue;
        a.s = a.s * expf(a.m - mm) + os * expf(om - mm);
        a.m = mm;
    }
    return a.m == -INFINITY ? -INFINITY : a.m + logf(a.s);
}

__global__ void __launch_bounds__(THREADS) sinkhorn_kernel(SinkArgs s) {
    extern __shared__ float smem[];
    const int64_t p = blockIdx.x;
    const int64_t n = s.n, m = s.m;
    float* f = smem;
    float* g = smem + n;
    __shared__ float red[THREADS / 32];
    __shared__ int stop;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;

    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) f[i] = 0.f;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) g[j] = 0.f;
    __syncthreads();

    int it = 0;
    float error = INFINITY; // meaningful in thread 0, which writes it
    float eps = s.eps;
    for (;; ++it) {
        eps = s.eps_start > s.eps ? fmaxf(s.eps, s.eps_start * powf(s.eps_factor, (float)it)) : s.eps;
        float damp = s.rho > 0.f ? s.rho / (s.rho + eps) : 1.f;
        // f update, with the error of the current plan first.
        float errp = 0.f;
        for (int64_t i = warp; i < n; i += nw) {
            Lse acc = {-INFINITY, 0.f};
            for (int64_t j = lane; j < m; j += 32) acc = lse_add(acc, (g[j] - cost_at(s, p, i, j)) / eps);
            float l = warp_lse(acc);
            float la = log_marginal(s.a, p, i, n);
            if (lane == 0) {
                if (it > 0) errp += fabsf(expf(f[i] / eps + l) - expf(la));
                s.f[p * n + i] = l; // the output row holds lse_i until f is final
            }
        }
        if (lane == 0) red[warp] = errp;
        __syncthreads();
        if (threadIdx.x == 0) {
            float e = 0;
            for (int w = 0; w < nw; ++w) e += red[w];
            if (it > 0) error = e;
            stop = (it > 0 && error <= s.tol) || it >= s.max_iter;
        }
        __syncthreads();
        if (stop) break;
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
            float l = s.f[p * n + i];
            f[i] = damp * eps * (log_marginal(s.a, p, i, n) - l);
        }
        __syncthreads();
        // g update.
        for (int64_t j = warp; j < m; j += nw) {
            Lse acc = {-INFINITY, 0.f};
            for (int64_t i = lane; i < n; i += 32) acc = lse_add(acc, (f[i] - cost_at(s, p, i, j)) / eps);
            float l = warp_lse(acc);
            if (lane == 0) g[j] = damp * eps * (log_marginal(s.b, p, j, m) - l);
        }
        __syncthreads();
    }
    // Final: cost <P,C>, objective, plan.
    float pc = 0.f, po = 0.f;
    for (int64_t q = threadIdx.x; q < n * m; q += blockDim.x) {
        int64_t i = q / m, j = q % m;
        float c = cost_at(s, p, i, j);
        float pij = expf((f[i] + g[j] - c) / eps);
        pc += pij * c;
        po += pij * (f[i] + g[j] - eps * (log_marginal(s.a, p, i, n) + log_marginal(s.b, p, j, m)));
        if (s.plan) s.plan[p * n * m + q] = pij;
    }
    for (int off = 16; off > 0; off >>= 1) {
        pc += __shfl_xor_sync(0xffffffffu, pc, off);
        po += __shfl_xor_sync(0xffffffffu, po, off);
    }
    __shared__ float rc[THREADS / 32], ro[THREADS / 32];
    if (lane == 0) { rc[warp] = pc; ro[warp] = po; }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s.f[p * n + i] = f[i];
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) s.g[p * m + j] = g[j];
    if (threadIdx.x == 0) {
        float tc = 0, to = 0;
        for (int w = 0; w < nw; ++w) { tc += rc[w]; to += ro[w]; }
        s.iters[p] = it;
        s.err[p] = error;
        s.tcost[p] = tc;
        s.obj[p] = to;
    }
}

}  // namespace
}  // namespace ek

using namespace ek;

extern "C" ek_status ek_sinkhorn(int32_t cost_kind, const float* cost, const float* x, const float* y, int64_t batch,
                                 int64_t n, int64_t m, int64_t d, const float* a, const float* b, float eps,
                                 float eps_start, float eps_factor, float rho, int32_t max_iter, float tol, float* f,
                                 float* g, int32_t* iterations, float* error, float* transport_cost, float* objective,
                                 float* plan, void* stream) {
    const char* call = "ek_sinkhorn";
    if (batch < 0 || n < 1 || m < 1) {
        return fail(EK_INVALID_ARGUMENT, call, "sizes: batch >= 0, n >= 1, m >= 1, got %lld, %lld, %lld",
                    (long long)batch, (long long)n, (long long)m);
    }
    if (n + m > 12288) return fail(EK_UNSUPPORTED, call, "n + m: at most 12288, got %lld", (long long)(n + m));
    if (cost_kind == EK_COST_GIVEN) {
        if (!cost) return fail(EK_INVALID_ARGUMENT, call, "cost: must not be NULL for EK_COST_GIVEN");
    } else if (cost_kind >= EK_COST_SQEUCLIDEAN && cost_kind <= EK_COST_L2) {
        if (!x || !y || d < 1) return fail(EK_INVALID_ARGUMENT, call, "x, y and d >= 1: required for point clouds, got d = %lld", (long long)d);
    } else {
        return fail(EK_INVALID_ARGUMENT, call, "cost_kind: unknown %d", cost_kind);
    }
    if (!(eps > 0.f) || isinf(eps)) return fail(EK_INVALID_ARGUMENT, call, "eps: must be finite and > 0, got %g", (double)eps);
    if (eps_start > eps && !(eps_factor > 0.f && eps_factor < 1.f)) {
        return fail(EK_INVALID_ARGUMENT, call, "eps_factor: must be in (0, 1) when annealing, got %g", (double)eps_factor);
    }
    if (max_iter < 0) return fail(EK_INVALID_ARGUMENT, call, "max_iter: must be >= 0, got %d", max_iter);
    if (!f || !g || !iterations || !error || !transport_cost || !objective) {
        return fail(EK_INVALID_ARGUMENT, call, "f, g, iterations, error, transport_cost, objective: must not be NULL");
    }
    if (batch == 0) return ok();
    SinkArgs s = {cost_kind, cost, x, y, n, m, d, a, b, eps, eps_start, eps_factor, rho, tol, max_iter,
                  f, g, iterations, error, transport_cost, objective, plan};
    size_t shm = (size_t)(n + m) * sizeof(float);
    if (shm > 48 * 1024) {
        EK_CUDA_CHECK("cudaFuncSetAttribute", cudaFuncSetAttribute(sinkhorn_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shm));
    }
    sinkhorn_kernel<<<(unsigned)batch, THREADS, shm, (cudaStream_t)stream>>>(s);
    return check_launch(call);
}
