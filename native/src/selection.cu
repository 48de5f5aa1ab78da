// SPEC §2 kernels: top-k, kept masks, masked logits and Philox sampling, one 256-thread block per row.
//
// Every filter keeps a prefix of SPEC order (logit descending, ties by ascending index). While that
// prefix is long it is held as a cut (B, last): token i is kept when its order-preserving key u_i > B,
// or u_i == B and i <= last. Top-k and top-H shrink it to at most 1024 tokens by radix select on the
// float bits (8 bits a pass, ties resolved by a radix select on the index), after which the prefix
// is gathered into shared memory, sorted, and the remaining filters run on it exactly as the scalar
// reference does (float64 sums in SPEC order). Top-p and min-p on a long prefix find their cut by a
// pivot search: a radix select over the probability mass above each candidate threshold.
#include <cmath>

#include "common.cuh"

namespace ek {
namespace {

constexpr int THREADS = 256;
constexpr int SMALL = EK_MAX_TOP_K; // == EK_MAX_TOP_H_N

__device__ __forceinline__ uint32_t order_key(float x) {
    uint32_t b = __float_as_uint(x + 0.f); // -0 -> +0: equal logits tie
    return b ^ ((b & 0x80000000u) ? 0xFFFFFFFFu : 0x80000000u);
}
__device__ __forceinline__ float key_float(uint32_t u) {
    uint32_t b = (u & 0x80000000u) ? (u ^ 0x80000000u) : ~u;
    return __uint_as_float(b);
}

struct Shared {
    uint32_t hist[256];
    double mass[256];
    unsigned long long keys[SMALL]; // (u << 32) | (0xFFFFFFFF - index): descending = SPEC order
    double w[SMALL];
    int32_t idx[SMALL];
    double red_d[32];
    float red_f[32];
    int32_t red_i[32];
    uint32_t sel_digit;
    uint32_t sel_rest;
    double sel_mass;
    int32_t count;
    int32_t small_len;
    uint32_t cut_b;
    int32_t cut_last;
    int32_t flag;
};

template <typename T>
struct Row {
    const T* x;
    int64_t n;
    float max;
    double inv_t;  // 1/T in float64, as the scalar reference divides by T
    double temp;

    __device__ __forceinline__ float at(int64_t i) const { return ld(x, i); }
    __device__ __forceinline__ double weight(float v) const { return exp(((double)v - (double)max) / temp); }
};

__device__ __forceinline__ bool in_cut(uint32_t u, int64_t i, uint32_t b, int64_t last) {
    return u > b || (u == b && i <= last);
}

__device__ double block_sum(double v, Shared& sh) {
    Group g = make_group(false);
    return group_reduce(v, g, sh.red_d, dsum);
}

__device__ int block_sum_i(int v, Shared& sh) {
    Group g = make_group(false);
    return group_reduce(v, g, sh.red_i, [](int a, int b) { return a + b; });
}

// Σ of the float64 weights of the cut's tokens.
template <typename T>
__device__ double cut_mass(const Row<T>& r, Shared& sh, uint32_t b, int64_t last) {
    double part = 0;
    for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
        float v = r.at(i);
        if (in_cut(order_key(v), i, b, last)) part += r.weight(v);
    }
    return block_sum(part, sh);
}

// Selects the `count`-th token (1-based) in SPEC order among the kept ones of the cut (b, last), by
// count (mass == false) or by probability mass (mass == true: the first token at which the cumulative
// weight reaches `target`). Returns the new cut in sh.cut_b / sh.cut_last and its length in sh.count;
// sh.flag = 0 when a mass target was never reached (the caller keeps the whole cut).
template <typename T>
__device__ void radix_cut(const Row<T>& r, Shared& sh, uint32_t b, int64_t last, int64_t count, bool by_mass,
                          double target) {
    uint32_t prefix = 0, mask = 0;
    int64_t rest = count;    // tokens still to take (count mode)
    double need = target;    // mass still to reach (mass mode)
    int64_t above = 0;       // tokens above the digit prefix
    bool reached = true;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) { sh.hist[d] = 0; sh.mass[d] = 0; }
        __syncthreads();
        for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
            float v = r.at(i);
            uint32_t u = order_key(v);
            if (in_cut(u, i, b, last) && (u & mask) == prefix) {
                uint32_t d = (u >> shift) & 255u;
                atomicAdd(&sh.hist[d], 1u);
                if (by_mass) atomicAdd(&sh.mass[d], r.weight(v));
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            int pick = -1;
            for (int d = 255; d >= 0; --d) {
                if (by_mass) {
                    if (sh.hist[d] && sh.mass[d] >= need) { pick = d; break; }
                    need -= sh.mass[d];
                } else {
                    if ((int64_t)sh.hist[d] >= rest) { pick = d; break; }
                    rest -= sh.hist[d];
                }
                above += sh.hist[d];
            }
            if (pick < 0) { // mass never reached (rounding): take the lowest nonempty digit
                reached = false;
                for (int d = 0; d < 256; ++d) if (sh.hist[d]) { pick = d; break; }
                if (pick < 0) pick = 0;
                above -= sh.hist[pick];
            }
            sh.sel_digit = (uint32_t)pick;
            sh.sel_mass = need;
            sh.sel_rest = (uint32_t)rest;
            sh.flag = reached;
        }
        __syncthreads();
        prefix |= sh.sel_digit << shift;
        mask |= 255u << shift;
        need = sh.sel_mass;
        rest = sh.sel_rest;
        __syncthreads();
    }
    // Ties at the cut's key B = prefix: how many, and how many of them to take (by ascending index).
    int ties_local = 0;
    for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
        uint32_t u = order_key(r.at(i));
        ties_local += (u == prefix && in_cut(u, i, b, last)) ? 1 : 0;
    }
    int64_t ties = block_sum_i(ties_local, sh);
    int64_t take;
    if (by_mass) {
        double w = r.weight(key_float(prefix));
        take = sh.flag ? (int64_t)ceil(need / w) : ties;
        if (take < 1) take = 1;
        if (take > ties) take = ties;
    } else {
        take = rest;
    }
    // Count above the key (recomputed: `above` is known to thread 0 only).
    int above_local = 0;
    for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
        uint32_t u = order_key(r.at(i));
        above_local += (u > prefix && in_cut(u, i, b, last)) ? 1 : 0;
    }
    int64_t n_above = block_sum_i(above_local, sh);
    int64_t new_last = (prefix == b) ? last : r.n;
    if (take < ties) {
        // The take-th smallest index among the ties: radix select on the index bits, ascending.
        uint32_t ip = 0, im = 0;
        int64_t irest = take;
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int d = threadIdx.x; d < 256; d += blockDim.x) sh.hist[d] = 0;
            __syncthreads();
            for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
                uint32_t u = order_key(r.at(i));
                if (u == prefix && in_cut(u, i, b, last) && ((uint32_t)i & im) == ip) {
                    atomicAdd(&sh.hist[((uint32_t)i >> shift) & 255u], 1u);
                }
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                int d = 0;
                for (; d < 256; ++d) {
                    if ((int64_t)sh.hist[d] >= irest) break;
                    irest -= sh.hist[d];
                }
                sh.sel_digit = (uint32_t)d;
                sh.sel_rest = (uint32_t)irest;
            }
            __syncthreads();
            ip |= sh.sel_digit << shift;
            im |= 255u << shift;
            irest = sh.sel_rest;
            __syncthreads();
        }
        new_last = ip;
    }
    if (threadIdx.x == 0) {
        sh.cut_b = prefix;
        sh.cut_last = (int32_t)new_last;
        sh.count = (int32_t)(n_above + take);
    }
    __syncthreads();
}

// Gathers the kept tokens of a cut of at most SMALL tokens into shared memory, sorted in SPEC order,
// with their float64 weights.
template <typename T>
__device__ void gather_sorted(const Row<T>& r, Shared& sh, uint32_t b, int64_t last) {
    if (threadIdx.x == 0) sh.small_len = 0;
    for (int j = threadIdx.x; j < SMALL; j += blockDim.x) sh.keys[j] = 0ull;
    __syncthreads();
    for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
        uint32_t u = order_key(r.at(i));
        if (in_cut(u, i, b, last)) {
            int slot = atomicAdd(&sh.small_len, 1);
            if (slot < SMALL) sh.keys[slot] = ((unsigned long long)u << 32) | (0xFFFFFFFFu - (uint32_t)i);
        }
    }
    __syncthreads();
    // Bitonic sort, descending, over SMALL slots (empty slots hold 0 and sink to the end).
    for (int size = 2; size <= SMALL; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int j = threadIdx.x; j < SMALL; j += blockDim.x) {
                int p = j ^ stride;
                if (p > j) {
                    bool desc = (j & size) == 0;
                    unsigned long long a = sh.keys[j], c = sh.keys[p];
                    if (desc ? (a < c) : (a > c)) { sh.keys[j] = c; sh.keys[p] = a; }
                }
            }
            __syncthreads();
        }
    }
    int len = min(sh.small_len, SMALL);
    for (int j = threadIdx.x; j < len; j += blockDim.x) {
        int32_t i = (int32_t)(0xFFFFFFFFu - (uint32_t)(sh.keys[j] & 0xFFFFFFFFull));
        sh.idx[j] = i;
        sh.w[j] = r.weight(r.at(i));
    }
    if (threadIdx.x == 0) sh.small_len = len;
    __syncthreads();
}

__device__ __forceinline__ double plogp(double q) { return q > 0 ? -q * log(q) : 0.0; }

// Sequential filters on the sorted small prefix (thread 0), as the scalar reference.
__device__ int small_filter(const Shared& sh, int len, const ek_filter& f) {
    auto prefix_sum = [&](int m) { double s = 0; for (int j = 0; j < m; ++j) s += sh.w[j]; return s; };
    switch (f.kind) {
        case EK_FILTER_TOP_K: return min(len, f.k);
        case EK_FILTER_TOP_P: {
            double thr = (double)f.value * prefix_sum(len), cum = 0;
            for (int j = 0; j < len; ++j) { cum += sh.w[j]; if (cum >= thr) return j + 1; }
            return len;
        }
        case EK_FILTER_MIN_P: {
            double thr = (double)f.value * sh.w[0];
            int m = 1;
            while (m < len && sh.w[m] >= thr) ++m;
            return m;
        }
        default: { // top-H
            int ne = min(f.n, len);
            double z = prefix_sum(f.kind == EK_FILTER_TOP_H_PAPER ? len : ne);
            double full = 0;
            for (int j = 0; j < ne; ++j) full += plogp(sh.w[j] / z);
            double tau = (double)f.value * full, cum = 0;
            int keep = 1;
            for (int m = 1; m <= ne; ++m) { cum += plogp(sh.w[m - 1] / z); if (cum <= tau) keep = m; }
            return keep;
        }
    }
}

// Philox4x32-10 as dev.entrokit.internal.Philox: key {seed lo, seed hi}, counter {row, step lo, step hi, 0}.
__device__ double philox_uniform(uint64_t seed, uint32_t row, uint64_t step) {
    uint32_t c0 = row, c1 = (uint32_t)step, c2 = (uint32_t)(step >> 32), c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint32_t hi0 = __umulhi(c0, 0xD2511F53u), lo0 = c0 * 0xD2511F53u;
        uint32_t hi1 = __umulhi(c2, 0xCD9E8D57u), lo1 = c2 * 0xCD9E8D57u;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    unsigned long long bits = ((unsigned long long)c0 << 21) | ((unsigned long long)c1 >> 11);
    return (double)bits * 0x1.0p-53;
}

enum Mode { M_TOPK, M_MASK, M_LOGITS, M_SAMPLE };

struct SelArgs {
    const void* x; int64_t xs;
    int64_t rows, cols;
    float temperature;
    ek_filter filters[EK_MAX_FILTERS];
    int32_t n_filters;
    int32_t k;                        // top-k mode
    int32_t* indices; void* values; float* probs;
    uint8_t* mask; int64_t mask_stride; int32_t* count;
    void* out; int64_t os;
    uint64_t seed; const int64_t* seeds; int32_t row_offset; int64_t step; int32_t* tokens;
};

template <typename T, int MODE>
__global__ void __launch_bounds__(THREADS) select_kernel(SelArgs a) {
    __shared__ Shared sh;
    const int64_t row = blockIdx.x;
    Row<T> r;
    r.x = static_cast<const T*>(a.x) + row * a.xs;
    r.n = a.cols;
    r.temp = a.temperature;

    // Maximum and special values.
    float mx = -INFINITY;
    int bad = 0;
    int64_t arg = INT64_MAX;
    for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
        float v = r.at(i);
        if (isnan(v) || v == INFINITY) bad = 1;
        else if (v > mx) { mx = v; arg = i; }
    }
    Group g = make_group(false);
    mx = group_reduce(mx, g, sh.red_f, [](float p, float q) { return fmaxf(p, q); });
    bad = block_sum_i(bad, sh);
    if (mx == -INFINITY) bad = 1;
    r.max = mx;

    T* out = MODE == M_LOGITS ? static_cast<T*>(a.out) + row * a.os : nullptr;
    uint8_t* mask = MODE == M_MASK ? a.mask + row * a.mask_stride : nullptr;

    if (bad) {
        if (MODE == M_TOPK) {
            for (int j = threadIdx.x; j < a.k; j += blockDim.x) {
                a.indices[row * a.k + j] = -1;
                if (a.values) st(static_cast<T*>(a.values) + row * a.k, j, NAN);
                if (a.probs) a.probs[row * a.k + j] = NAN;
            }
        }
        if (MODE == M_MASK) {
            for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) mask[i] = 0;
            if (a.count && threadIdx.x == 0) a.count[row] = 0;
        }
        if (MODE == M_LOGITS) for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) st(out, i, NAN);
        if (MODE == M_SAMPLE && threadIdx.x == 0) a.tokens[row] = -1;
        return;
    }

    if (MODE == M_SAMPLE && a.temperature == 0.f) { // greedy: lowest index of the maximum
        int64_t best = (r.at(arg < r.n ? arg : 0) == mx && arg < r.n) ? arg : INT64_MAX;
        best = group_reduce(best, g, reinterpret_cast<int64_t*>(sh.red_d),
                            [](int64_t p, int64_t q) { return p < q ? p : q; });
        if (threadIdx.x == 0) a.tokens[row] = (int32_t)best;
        return;
    }

    // The pipeline: a cut while long, the sorted small prefix once short.
    uint32_t cb = 0;
    int64_t clast = r.n, len = r.n;
    bool small = false;
    int slen = 0;
    int nf = MODE == M_TOPK ? 1 : a.n_filters;
    for (int fi = 0; fi < nf; ++fi) {
        ek_filter f = MODE == M_TOPK ? ek_filter{EK_FILTER_TOP_K, a.k, 0.f, 0} : a.filters[fi];
        if (!small && (f.kind == EK_FILTER_TOP_K || f.kind == EK_FILTER_TOP_H_PAPER || f.kind == EK_FILTER_TOP_H_NORMALIZED)) {
            int64_t m = f.kind == EK_FILTER_TOP_K ? f.k : f.n;
            if (m > len) m = len;
            double zlen = 0;
            if (f.kind == EK_FILTER_TOP_H_PAPER) { // S(len) over the whole cut, before shrinking it
        zlen = cut_mass(r, sh, cb, clast);
            }
            if (m < len) {
                radix_cut(r, sh, cb, clast, m, false, 0.0);
                cb = sh.cut_b; clast = sh.cut_last;
            }
            gather_sorted(r, sh, cb, clast);
            small = true;
            slen = sh.small_len;
            if (f.kind == EK_FILTER_TOP_H_PAPER) {
                // PAPER normalizes by the survivors of the previous filters, not by the first n.
                if (threadIdx.x == 0) {
                    int ne = slen;
                    double full = 0;
                    for (int j = 0; j < ne; ++j) full += plogp(sh.w[j] / zlen);
                    double tau = (double)f.value * full, cum = 0;
                    int keep = 1;
                    for (int q = 1; q <= ne; ++q) { cum += plogp(sh.w[q - 1] / zlen); if (cum <= tau) keep = q; }
                    sh.count = keep;
                }
                __syncthreads();
                slen = sh.count;
            } else if (f.kind == EK_FILTER_TOP_H_NORMALIZED) {
                if (threadIdx.x == 0) sh.count = small_filter(sh, slen, f);
                __syncthreads();
                slen = sh.count;
            }
            len = slen;
            __syncthreads();
            continue;
        }
        if (small) {
            if (threadIdx.x == 0) sh.count = small_filter(sh, slen, f);
            __syncthreads();
            slen = sh.count;
            len = slen;
            __syncthreads();
            continue;
        }
        // Top-p / min-p on a long cut.
        double total = cut_mass(r, sh, cb, clast);
        if (f.kind == EK_FILTER_TOP_P && f.value < 1.f) {
            radix_cut(r, sh, cb, clast, 0, true, (double)f.value * total);
            if (sh.flag) { cb = sh.cut_b; clast = sh.cut_last; len = sh.count; }
        } else {
            // min-p (w >= r * w_max, and w_max = 1) or p = 1 (every positive weight): a cut at the
            // smallest key that passes, with the largest index among its ties.
            double thr = f.kind == EK_FILTER_MIN_P ? (double)f.value : 0.0;
            uint32_t lo = 0xFFFFFFFFu;
            for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
                float v = r.at(i);
                uint32_t u = order_key(v);
                double w = r.weight(v);
                bool pass = f.kind == EK_FILTER_MIN_P ? w >= thr : w > 0;
                if (in_cut(u, i, cb, clast) && pass && u < lo) lo = u;
            }
            lo = group_reduce(lo, g, reinterpret_cast<uint32_t*>(sh.red_i), [](uint32_t p, uint32_t q) { return p < q ? p : q; });
            // At least the first token (its weight is 1): lo exists.
            int64_t last = -1;
            int cnt = 0;
            for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
                uint32_t u = order_key(r.at(i));
                if (in_cut(u, i, cb, clast) && u >= lo) { cnt++; if (u == lo && i > last) last = i; }
            }
            last = group_reduce(last, g, reinterpret_cast<int64_t*>(sh.red_d), [](int64_t p, int64_t q) { return p > q ? p : q; });
            len = block_sum_i(cnt, sh);
            cb = lo; clast = last;
        }
    }

    // ---- outputs
    if (MODE == M_TOPK) {
        double part = 0;
        for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) part += r.weight(r.at(i));
        double total = block_sum(part, sh);
        for (int j = threadIdx.x; j < a.k; j += blockDim.x) {
            int32_t i = sh.idx[j];
            a.indices[row * a.k + j] = i;
            if (a.values) st(static_cast<T*>(a.values) + row * a.k, j, r.at(i));
            if (a.probs) a.probs[row * a.k + j] = (float)(sh.w[j] / total);
        }
        return;
    }
    if (small) {
        // Back to a cut: the last kept token of the sorted prefix.
        unsigned long long kl = sh.keys[slen - 1];
        cb = (uint32_t)(kl >> 32);
        clast = (int64_t)(0xFFFFFFFFu - (uint32_t)(kl & 0xFFFFFFFFull));
    }
    if (MODE == M_MASK) {
        for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) mask[i] = in_cut(order_key(r.at(i)), i, cb, clast) ? 1 : 0;
        if (a.count && threadIdx.x == 0) a.count[row] = (int32_t)len;
        return;
    }
    if (MODE == M_LOGITS) {
        __syncthreads(); // every read of x happened before any write: out may alias x
        for (int64_t i = threadIdx.x; i < r.n; i += blockDim.x) {
            float v = r.at(i);
            st(out, i, in_cut(order_key(v), i, cb, clast) ? v : -INFINITY);
        }
        return;
    }
    // M_SAMPLE: walk the kept tokens in ascending index order; the first whose running sum exceeds u·total.
    double total = cut_mass(r, sh, cb, clast);
    uint64_t seed = a.seeds ? (uint64_t)a.seeds[row] : a.seed;
    double target = philox_uniform(seed, (uint32_t)(a.row_offset + (int32_t)row), (uint64_t)a.step) * total;
    constexpr int ITEMS = 16;
    double run = 0;
    int64_t found = -1, last_pos = -1;
    for (int64_t base = 0; base < r.n && found < 0; base += (int64_t)THREADS * ITEMS) {
        int64_t lo = base + (int64_t)threadIdx.x * ITEMS;
        double mine = 0;
        for (int q = 0; q < ITEMS; ++q) {
            int64_t i = lo + q;
            if (i < r.n) {
                float v = r.at(i);
                if (in_cut(order_key(v), i, cb, clast)) mine += r.weight(v);
            }
        }
        // Exclusive scan of the threads' sums.
        __syncthreads();
        sh.mass[threadIdx.x] = mine;
        __syncthreads();
        if (threadIdx.x == 0) {
            double acc = run;
            for (int q = 0; q < THREADS; ++q) { double m = sh.mass[q]; sh.mass[q] = acc; acc += m; }
            sh.sel_mass = acc;
        }
        __syncthreads();
        double cum = sh.mass[threadIdx.x];
        int64_t hit = INT64_MAX, lastp = -1;
        for (int q = 0; q < ITEMS; ++q) {
            int64_t i = lo + q;
            if (i < r.n) {
                float v = r.at(i);
                double w = r.weight(v);
                if (in_cut(order_key(v), i, cb, clast) && w > 0) {
                    cum += w;
                    lastp = i;
                    if (cum > target && hit == INT64_MAX) hit = i;
                }
            }
        }
        hit = group_reduce(hit, g, reinterpret_cast<int64_t*>(sh.red_d), [](int64_t p, int64_t q) { return p < q ? p : q; });
        lastp = group_reduce(lastp, g, reinterpret_cast<int64_t*>(sh.red_d), [](int64_t p, int64_t q) { return p > q ? p : q; });
        if (lastp >= 0) last_pos = lastp;
        if (hit != INT64_MAX) found = hit;
        run = sh.sel_mass;
    }
    if (threadIdx.x == 0) a.tokens[row] = (int32_t)(found >= 0 ? found : last_pos);
}

ek_status check_filters(const char* call, const ek_filter* filters, int32_t n_filters, int64_t cols) {
    if (n_filters < 0 || n_filters > EK_MAX_FILTERS) {
        return fail(EK_UNSUPPORTED, call, "n_filters: must be in [0, %d], got %d", EK_MAX_FILTERS, n_filters);
    }
    if (n_filters > 0 && !filters) return fail(EK_INVALID_ARGUMENT, call, "filters: must not be NULL");
    for (int i = 0; i < n_filters; ++i) {
        const ek_filter& f = filters[i];
        switch (f.kind) {
            case EK_FILTER_TOP_K:
                if (f.k < 1 || f.k > cols) return fail(EK_INVALID_ARGUMENT, call, "filters[%d].k: must be in [1, %lld], got %d", i, (long long)cols, f.k);
                if (f.k > EK_MAX_TOP_K) return fail(EK_UNSUPPORTED, call, "filters[%d].k: at most %d, got %d", i, EK_MAX_TOP_K, f.k);
                break;
            case EK_FILTER_TOP_P:
            case EK_FILTER_MIN_P:
                if (!(f.value > 0.f && f.value <= 1.f)) return fail(EK_INVALID_ARGUMENT, call, "filters[%d].value: must be in (0, 1], got %g", i, (double)f.value);
                break;
            case EK_FILTER_TOP_H_PAPER:
            case EK_FILTER_TOP_H_NORMALIZED:
                if (!(f.value > 0.f && f.value <= 1.f)) return fail(EK_INVALID_ARGUMENT, call, "filters[%d].value: must be in (0, 1], got %g", i, (double)f.value);
                if (f.n < 1) return fail(EK_INVALID_ARGUMENT, call, "filters[%d].n: must be >= 1, got %d", i, f.n);
                if (f.n > EK_MAX_TOP_H_N) return fail(EK_UNSUPPORTED, call, "filters[%d].n: at most %d, got %d", i, EK_MAX_TOP_H_N, f.n);
                break;
            default:
                return fail(EK_INVALID_ARGUMENT, call, "filters[%d].kind: unknown %d", i, f.kind);
        }
    }
    return EK_SUCCESS;
}

ek_status check_common(const char* call, const void* x, int64_t xs, int64_t rows, int64_t cols, ek_dtype dtype,
                       float temperature, bool greedy_ok) {
    ek_status s = check_rows(call, rows, cols, dtype);
    if (s != EK_SUCCESS) return s;
    s = check_stride(call, "x", x, xs, cols, true);
    if (s != EK_SUCCESS) return s;
    if (!(temperature > 0.f || (greedy_ok && temperature == 0.f)) || isinf(temperature)) {
        return fail(EK_INVALID_ARGUMENT, call, "temperature: must be finite and > 0%s, got %g", greedy_ok ? " (or 0)" : "",
                    (double)temperature);
    }
    return EK_SUCCESS;
}

template <int MODE>
ek_status run(const char* call, SelArgs a, ek_dtype dtype, void* stream) {
    if (a.rows == 0) return ok();
    cudaStream_t st = (cudaStream_t)stream;
    dim3 grid((unsigned)a.rows), block(THREADS);
    switch (dtype) {
        case EK_F32: select_kernel<float, MODE><<<grid, block, 0, st>>>(a); break;
        case EK_BF16: select_kernel<__nv_bfloat16, MODE><<<grid, block, 0, st>>>(a); break;
        case EK_F16: select_kernel<__half, MODE><<<grid, block, 0, st>>>(a); break;
    }
    return check_launch(call);
}

SelArgs sel_base(const void* x, int64_t xs, int64_t rows, int64_t cols, float temperature, const ek_filter* filters,
                 int32_t n_filters) {
    SelArgs a = {};
    a.x = x; a.xs = xs; a.rows = rows; a.cols = cols; a.temperature = temperature;
    a.n_filters = n_filters;
    for (int i = 0; i < n_filters; ++i) a.filters[i] = filters[i];
    return a;
}

}  // namespace
}  // namespace ek

using namespace ek;

extern "C" {

ek_status ek_top_k(const void* x, int64_t xs, int64_t rows, int64_t cols, ek_dtype dtype, float temperature, int32_t k,
                   int32_t* indices, void* values, float* probs, void* stream) {
    const char* call = "ek_top_k";
    ek_status s = check_common(call, x, xs, rows, cols, dtype, temperature, false);
    if (s != EK_SUCCESS) return s;
    if (k < 1 || k > cols) return fail(EK_INVALID_ARGUMENT, call, "k: must be in [1, %lld], got %d", (long long)cols, k);
    if (k > EK_MAX_TOP_K) return fail(EK_UNSUPPORTED, call, "k: at most %d, got %d", EK_MAX_TOP_K, k);
    if (!indices) return fail(EK_INVALID_ARGUMENT, call, "indices: must not be NULL");
    SelArgs a = sel_base(x, xs, rows, cols, temperature, nullptr, 0);
    a.k = k; a.indices = indices; a.values = values; a.probs = probs;
    return run<M_TOPK>(call, a, dtype, stream);
}

ek_status ek_kept_mask(const void* x, int64_t xs, int64_t rows, int64_t cols, ek_dtype dtype, float temperature,
                       const ek_filter* filters, int32_t n_filters, uint8_t* mask, int64_t mask_stride, int32_t* count,
                       void* stream) {
    const char* call = "ek_kept_mask";
    ek_status s = check_common(call, x, xs, rows, cols, dtype, temperature, false);
    if (s == EK_SUCCESS) s = check_filters(call, filters, n_filters, cols);
    if (s == EK_SUCCESS) s = check_stride(call, "mask", mask, mask_stride, cols, true);
    if (s != EK_SUCCESS) return s;
    SelArgs a = sel_base(x, xs, rows, cols, temperature, filters, n_filters);
    a.mask = mask; a.mask_stride = mask_stride; a.count = count;
    return run<M_MASK>(call, a, dtype, stream);
}

ek_status ek_mask_logits(const void* x, int64_t xs, void* out, int64_t os, int64_t rows, int64_t cols, ek_dtype dtype,
                         float temperature, const ek_filter* filters, int32_t n_filters, void* stream) {
    const char* call = "ek_mask_logits";
    ek_status s = check_common(call, x, xs, rows, cols, dtype, temperature, false);
    if (s == EK_SUCCESS) s = check_filters(call, filters, n_filters, cols);
    if (s == EK_SUCCESS) s = check_stride(call, "out", out, os, cols, true);
    if (s != EK_SUCCESS) return s;
    SelArgs a = sel_base(x, xs, rows, cols, temperature, filters, n_filters);
    a.out = out; a.os = os;
    return run<M_LOGITS>(call, a, dtype, stream);
}

ek_status ek_sample(const void* x, int64_t xs, int64_t rows, int64_t cols, ek_dtype dtype, float temperature,
                    const ek_filter* filters, int32_t n_filters, uint64_t seed, const int64_t* seeds, int32_t row_offset,
                    int64_t step, int32_t* tokens, void* stream) {
    const char* call = "ek_sample";
    ek_status s = check_common(call, x, xs, rows, cols, dtype, temperature, true);
    if (s == EK_SUCCESS) s = check_filters(call, filters, n_filters, cols);
    if (s != EK_SUCCESS) return s;
    if (!tokens) return fail(EK_INVALID_ARGUMENT, call, "tokens: must not be NULL");
    SelArgs a = sel_base(x, xs, rows, cols, temperature, filters, n_filters);
    a.seed = seed; a.seeds = seeds; a.row_offset = row_offset; a.step = step; a.tokens = tokens;
    return run<M_SAMPLE>(call, a, dtype, stream);
}

}  // extern "C"
