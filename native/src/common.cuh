// Shared device helpers: dtype conversion, 16-byte vector loads/stores, row-group reductions,
// the thread-local error state of the C ABI.
#pragma once

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "entrokit.h"

namespace ek {

// ------------------------------------------------------------------ errors (host side)

// Records a failure for ek_last_error() and returns its status.
ek_status fail(ek_status status, const char* call, const char* fmt, ...);
// Records a CUDA failure: "<call>: cuda error <code> (<name>): <text>".
ek_status cuda_fail(const char* call, cudaError_t err);
// Clears the thread's error state; returns EK_SUCCESS.
ek_status ok();

#define EK_CUDA_CHECK(call_name, expr)                  \
    do {                                               \
        cudaError_t ek_err_ = (expr);                  \
        if (ek_err_ != cudaSuccess) {                  \
            return ::ek::cuda_fail(call_name, ek_err_); \
        }                                              \
    } while (0)

// After a launch: a configuration error shows here, a fault only at the next synchronization.
ek_status check_launch(const char* call);

// Checks the common row arguments of an op; returns EK_SUCCESS or records why not.
ek_status check_rows(const char* call, int64_t rows, int64_t cols, ek_dtype dtype);
ek_status check_stride(const char* call, const char* name, const void* ptr, int64_t stride, int64_t cols,
                       bool required);

// ------------------------------------------------------------------ element types

template <typename T> struct Elem;
template <> struct Elem<float> {
    static __device__ __forceinline__ float load(float v) { return v; }
    static __device__ __forceinline__ float store(float v) { return v; }
};
template <> struct Elem<__nv_bfloat16> {
    static __device__ __forceinline__ float load(__nv_bfloat16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
};
template <> struct Elem<__half> {
    static __device__ __forceinline__ float load(__half v) { return __half2float(v); }
    static __device__ __forceinline__ __half store(float v) { return __float2half_rn(v); }
};

template <typename T> __device__ __forceinline__ float ld(const T* p, int64_t i) { return Elem<T>::load(p[i]); }
template <typename T> __device__ __forceinline__ void st(T* p, int64_t i, float v) { p[i] = Elem<T>::store(v); }

// Elements per 16-byte vector.
template <typename T> struct Vec { static constexpr int N = 16 / sizeof(T); };

// Loads 16 bytes (read-only path) and widens them to float.
template <typename T>
__device__ __forceinline__ void load_vec(const T* p, int64_t j, float (&v)[Vec<T>::N]) {
    uint4 raw = __ldg(reinterpret_cast<const uint4*>(p) + j);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int k = 0; k < Vec<T>::N; ++k) v[k] = Elem<T>::load(e[k]);
}

template <typename T>
__device__ __forceinline__ void store_vec(T* p, int64_t j, const float (&v)[Vec<T>::N]) {
    uint4 raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int k = 0; k < Vec<T>::N; ++k) e[k] = Elem<T>::store(v[k]);
    reinterpret_cast<uint4*>(p)[j] = raw;
}

// Whether a row pointer and its stride keep every row on a 16-byte boundary.
template <typename T>
inline bool vec_ok(const void* p, int64_t stride) {
    return p == nullptr || ((reinterpret_cast<uintptr_t>(p) % 16 == 0) && ((stride * (int64_t)sizeof(T)) % 16 == 0));
}

// ------------------------------------------------------------------ row groups

// A row is handled either by one warp (short rows; several rows per block) or by the whole block.
struct Group {
    int tid;      // thread index inside the group
    int size;     // threads in the group (32 or blockDim.x)
    int slot;     // which group of the block (0 for block-per-row)
    bool whole;   // the group is the whole block
};

__device__ __forceinline__ Group make_group(bool warp_per_row) {
    Group g;
    if (warp_per_row) {
        g.tid = threadIdx.x & 31;
        g.size = 32;
        g.slot = threadIdx.x >> 5;
        g.whole = false;
    } else {
        g.tid = threadIdx.x;
        g.size = blockDim.x;
        g.slot = 0;
        g.whole = true;
    }
    return g;
}

// Reduces a trivially copyable value over the group with an associative `op`; every thread of the
// group gets the result. `scratch` is shared memory for one value per warp (32 values).
template <typename S, typename Op>
__device__ __forceinline__ S group_reduce(S v, const Group& g, S* scratch, Op op) {
    static_assert(sizeof(S) % 4 == 0, "reduced values are whole 32-bit words");
    constexpr int W = sizeof(S) / 4;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        S other;
        const uint32_t* src = reinterpret_cast<const uint32_t*>(&v);
        uint32_t* dst = reinterpret_cast<uint32_t*>(&other);
#pragma unroll
        for (int w = 0; w < W; ++w) dst[w] = __shfl_xor_sync(0xffffffffu, src[w], off);
        v = op(v, other);
    }
    if (!g.whole) {
        return v;
    }
    int warp = threadIdx.x >> 5;
    int nwarps = (blockDim.x + 31) >> 5;
    __syncthreads(); // scratch may still be read from a previous reduction
    if ((threadIdx.x & 31) == 0) scratch[warp] = v;
    __syncthreads();
    S r = scratch[0];
    for (int w = 1; w < nwarps; ++w) r = op(r, scratch[w]);
    return r;
}

__device__ __forceinline__ double dsum(double a, double b) { return a + b; }

}  // namespace ek
