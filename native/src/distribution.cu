// SPEC §1 kernels: logsumexp, softmax, log-softmax (and their backward), entropy, cross entropy
// (soft and labels), KL, reverse KL, generalized JSD, Jeffreys, TV and Hellinger.
//
// Layout: a warp per row when cols <= WARP_COLS (8 rows per 256-thread block), else a block of 256 or
// 512 threads per row. Pass 1 reads the inputs once with 16-byte vector loads and keeps online
// softmax statistics (max rescaling) per thread in float32; threads are combined in float64. Pass 2
// re-reads the row and writes the same-shaped output (probabilities or the gradient). JSD needs one
// more pass (its gradient needs Σ q log(q/M)). Special rows (NaN, +inf, all -inf) give NaN outputs.
#include <cmath>

#include "common.cuh"

namespace ek {
namespace {

constexpr int64_t WARP_COLS = 1024;

enum Op {
    OP_LSE, OP_SOFTMAX, OP_LOG_SOFTMAX, OP_ENTROPY, OP_CE, OP_CE_LABELS, OP_KL, OP_RKL, OP_JSD, OP_JEFFREYS,
    OP_TV, OP_HELLINGER
};

__host__ __device__ constexpr bool two_inputs(int op) { return op >= OP_CE && op != OP_CE_LABELS; }
__host__ __device__ constexpr bool has_grad(int op) { return op == OP_ENTROPY || (op >= OP_CE && op <= OP_JEFFREYS); }

// Flags of a row.
constexpr int F_BAD = 1;    // NaN or +inf seen: the row is NaN
constexpr int F_INF_TS = 2; // p > 0 where q = 0: KL(p||q) = +inf
constexpr int F_INF_ST = 4; // q > 0 where p = 0: KL(q||p) = +inf

// One side's online statistics in the frame of its maximum m (raw logit units; k = 1/T):
// d = Σ exp((x - m)k), t = Σ exp((x - m)k) (x - m)k. An empty side has d = 0 and m = -inf.
template <typename R> struct Side {
    R m, d, t;
};

// Both sides plus the cross terms ats = Σ e_t ((xt-mt)k - (xs-ms)k), ast = Σ e_s ((xs-ms)k - (xt-mt)k)
// over the elements where both logits are finite, and sz = Σ (xs - ms) over every element (cnt).
template <typename R> struct Acc {
    Side<R> t, s;
    R ats, ast, sz;
    R cnt;
    int32_t flags;
    int32_t pad;
};

template <typename R> __device__ __forceinline__ R ex(R v);
template <> __device__ __forceinline__ float ex<float>(float v) { return expf(v); }
template <> __device__ __forceinline__ double ex<double>(double v) { return exp(v); }

// Merges side b into a; returns the scale factors applied to a's and b's sums (0 for an empty side).
template <typename R>
__device__ __forceinline__ void merge_side(Side<R>& a, const Side<R>& b, R k, R& sa, R& sb) {
    if (b.d == R(0)) { sa = R(1); sb = R(0); return; }
    if (a.d == R(0)) { sa = R(0); sb = R(1); a = b; return; }
    R m = a.m > b.m ? a.m : b.m;
    R da = (a.m - m) * k, db = (b.m - m) * k; // <= 0, one of them 0
    sa = da == R(0) ? R(1) : ex<R>(da);
    sb = db == R(0) ? R(1) : ex<R>(db);
    R t = sa * (a.t + da * a.d) + sb * (b.t + db * b.d);
    a.d = sa * a.d + sb * b.d;
    a.t = t;
    a.m = m;
}

template <typename R, bool TWO, bool CROSS, bool SZ>
__device__ __forceinline__ void merge(Acc<R>& a, const Acc<R>& b, R k) {
    a.flags |= b.flags;
    Side<R> at = a.t, as = a.s; // frames before the merge
    R sat = 1, sbt = 0, sas = 1, sbs = 0;
    if (TWO) merge_side(a.t, b.t, k, sat, sbt);
    merge_side(a.s, b.s, k, sas, sbs);
    if (CROSS) {
        // Moves a partial's cross term into the merged frames (mt, ms); empty frames carry nothing.
        auto move_ts = [&](R ats, const Side<R>& xt, const Side<R>& xs, R st) -> R {
            if (xt.d == R(0) || xs.d == R(0) || st == R(0)) return R(0);
            return st * (ats + ((xt.m - a.t.m) * k + (a.s.m - xs.m) * k) * xt.d);
        };
        auto move_st = [&](R ast, const Side<R>& xt, const Side<R>& xs, R ss) -> R {
            if (xt.d == R(0) || xs.d == R(0) || ss == R(0)) return R(0);
            return ss * (ast + ((xs.m - a.s.m) * k + (a.t.m - xt.m) * k) * xs.d);
        };
        a.ats = move_ts(a.ats, at, as, sat) + move_ts(b.ats, b.t, b.s, sbt);
        a.ast = move_st(a.ast, at, as, sas) + move_st(b.ast, b.t, b.s, sbs);
    }
    if (SZ) {
        // sz is relative to ms: shift each partial by (its ms - merged ms) per element.
        R za = a.cnt == R(0) ? R(0) : (as.d == R(0) ? a.sz : a.sz + (as.m - a.s.m) * a.cnt);
        R zb = b.cnt == R(0) ? R(0) : (b.s.d == R(0) ? b.sz : b.sz + (b.s.m - a.s.m) * b.cnt);
        a.sz = za + zb;
        a.cnt += b.cnt;
    }
}

template <typename R> __device__ __forceinline__ Acc<R> empty_acc() {
    Acc<R> a;
    a.t.m = a.s.m = -INFINITY;
    a.t.d = a.s.d = a.t.t = a.s.t = 0;
    a.ats = a.ast = a.sz = a.cnt = 0;
    a.flags = 0;
    a.pad = 0;
    return a;
}

// The statistics of one element (or a pair): in its own frame every shifted term is 0.
template <bool TWO, bool SZ>
__device__ __forceinline__ Acc<float> single(float xt, float xs) {
    Acc<float> e = empty_acc<float>();
    bool bad = isnan(xs) || xs == INFINITY || (TWO && (isnan(xt) || xt == INFINITY));
    if (bad) { e.flags = F_BAD; if (SZ) e.cnt = 1; return e; }
    if (xs != -INFINITY) { e.s.m = xs; e.s.d = 1; }
    if (TWO && xt != -INFINITY) { e.t.m = xt; e.t.d = 1; }
    if (TWO && xt != -INFINITY && xs == -INFINITY) e.flags |= F_INF_TS;
    if (TWO && xs != -INFINITY && xt == -INFINITY) e.flags |= F_INF_ST;
    if (SZ) { e.cnt = 1; e.sz = xs == -INFINITY ? -INFINITY : 0.f; }
    return e;
}

__device__ __forceinline__ Acc<double> widen(const Acc<float>& a) {
    Acc<double> w;
    w.t = {a.t.m, a.t.d, a.t.t};
    w.s = {a.s.m, a.s.d, a.s.t};
    w.ats = a.ats; w.ast = a.ast; w.sz = a.sz; w.cnt = a.cnt;
    w.flags = a.flags; w.pad = 0;
    return w;
}

struct Args {
    const void* t; int64_t ts;
    const void* s; int64_t ss;
    void* out; int64_t os;        // softmax / log-softmax output, or the gradient
    float* loss;                  // per-row value
    const float* grad_rows;
    const int32_t* labels; int32_t ignore_index;
    float smoothing, beta, grad_scale, k;
    int64_t rows, cols;
    bool vec, warp_per_row;
};

// Calls f(i, xt, xs) for every element of the group's share of a row (xt = 0 with one input).
template <typename T, bool TWO, typename F>
__device__ __forceinline__ void visit(const T* t, const T* s, int64_t cols, const Group& g, bool vec, F&& f) {
    constexpr int V = Vec<T>::N;
    int64_t done = 0;
    if (vec) {
        int64_t nv = cols / V;
        for (int64_t j = g.tid; j < nv; j += g.size) {
            float a[V], b[V];
            if (TWO) load_vec(t, j, a);
            load_vec(s, j, b);
#pragma unroll
            for (int q = 0; q < V; ++q) f(j * V + q, TWO ? a[q] : 0.f, b[q]);
        }
        done = nv * V;
    }
    for (int64_t i = done + g.tid; i < cols; i += g.size) f(i, TWO ? ld(t, i) : 0.f, ld(s, i));
}

// Writes out[i] = f(i, xt, xs) for the group's share of a row.
template <typename T, bool TWO, typename F>
__device__ __forceinline__ void map(const T* t, const T* s, T* out, int64_t cols, const Group& g, bool vec, F&& f) {
    constexpr int V = Vec<T>::N;
    int64_t done = 0;
    if (vec) {
        int64_t nv = cols / V;
        for (int64_t j = g.tid; j < nv; j += g.size) {
            float a[V], b[V], o[V];
            if (TWO) load_vec(t, j, a);
            load_vec(s, j, b);
#pragma unroll
            for (int q = 0; q < V; ++q) o[q] = f(j * V + q, TWO ? a[q] : 0.f, b[q]);
            store_vec(out, j, o);
        }
        done = nv * V;
    }
    for (int64_t i = done + g.tid; i < cols; i += g.size) st(out, i, f(i, TWO ? ld(t, i) : 0.f, ld(s, i)));
}

struct D2 { double a, b; };

template <typename T, int OP>
__global__ void row_kernel(Args a) {
    constexpr bool TWO = two_inputs(OP);
    constexpr bool CROSS = TWO && OP != OP_TV && OP != OP_HELLINGER && OP != OP_JSD;
    constexpr bool SZ = OP == OP_CE_LABELS;
    __shared__ Acc<double> scratch[32];
    __shared__ D2 scratch2[32];

    Group g = make_group(a.warp_per_row);
    int64_t row = a.warp_per_row ? (int64_t)blockIdx.x * (blockDim.x / 32) + g.slot : (int64_t)blockIdx.x;
    if (row >= a.rows) return; // a whole warp (warp rows) or the whole block leaves together

    const T* t = TWO ? static_cast<const T*>(a.t) + row * a.ts : nullptr;
    const T* s = static_cast<const T*>(a.s) + row * a.ss;
    T* out = a.out ? static_cast<T*>(a.out) + row * a.os : nullptr;
    const float k = a.k;
    const int64_t n = a.cols;
    int32_t label = 0;

    if (OP == OP_CE_LABELS) {
        label = a.labels[row];
        if (label == a.ignore_index) {
            if (g.tid == 0) a.loss[row] = 0.f;
            if (out) map<T, false>(s, s, out, n, g, a.vec, [](int64_t, float, float) { return 0.f; });
            return;
        }
    }

    // ---- pass 1: online statistics
    Acc<float> acc = empty_acc<float>();
    visit<T, TWO>(t, s, n, g, a.vec, [&](int64_t, float xt, float xs) {
        merge<float, TWO, CROSS, SZ>(acc, single<TWO, SZ>(xt, xs), k);
    });
    Acc<double> r = group_reduce(widen(acc), g, scratch, [k](Acc<double> x, const Acc<double>& y) {
        merge<double, TWO, CROSS, SZ>(x, y, (double)k);
        return x;
    });

    bool bad = (r.flags & F_BAD) || r.s.d == 0.0 || (TWO && r.t.d == 0.0);
    if (OP == OP_CE_LABELS && (label < 0 || label >= n)) bad = true;
    const float ms = (float)r.s.m, mt = (float)r.t.m;
    const double logDs = log(r.s.d), logDt = TWO ? log(r.t.d) : 0.0;
    const float lDs = (float)logDs, lDt = (float)logDt;
    const float scale = a.grad_scale * k * (a.grad_rows ? a.grad_rows[row] : 1.f);

    double value = NAN; // the per-row value
    if (!bad) {
        switch (OP) {
            case OP_LSE: value = (double)ms * k + logDs; break;
            case OP_ENTROPY: value = logDs - r.s.t / r.s.d; break;
            case OP_KL: value = (r.flags & F_INF_TS) ? INFINITY : r.ats / r.t.d + logDs - logDt; break;
            case OP_RKL: value = (r.flags & F_INF_ST) ? INFINITY : r.ast / r.s.d + logDt - logDs; break;
            case OP_CE:
                value = (r.flags & F_INF_TS) ? INFINITY : (r.ats - r.t.t) / r.t.d + logDs; break;
            case OP_JEFFREYS:
                value = (r.flags & (F_INF_TS | F_INF_ST)) ? INFINITY
                        : r.ats / r.t.d + r.ast / r.s.d; break;
            case OP_CE_LABELS: {
                double e = a.smoothing;
                double xl = ld(s, label);
                double lq = (xl - ms) * k - logDs;
                value = e == 1.0 ? 0.0 : (1.0 - e) * -lq;
                if (e > 0) value += e * (-(r.sz * k) / (double)n + logDs);
                break;
            }
            default: break;
        }
    }

    // ---- pass 2 (and 3 for JSD)
    if (OP == OP_TV || OP == OP_HELLINGER || OP == OP_JSD) {
        D2 part = {0, 0};
        const float lb = logf(a.beta), l1b = log1pf(-a.beta);
        if (!bad) {
            visit<T, TWO>(t, s, n, g, a.vec, [&](int64_t, float xt, float xs) {
                float lp = (xt - mt) * k - lDt, lq = (xs - ms) * k - lDs;
                float p = expf(lp), q = expf(lq);
                if (OP == OP_TV) part.a += fabsf(p - q);
                if (OP == OP_HELLINGER) { float d = expf(0.5f * lp) - expf(0.5f * lq); part.a += d * d; }
                if (OP == OP_JSD) {
                    float u = lb + lp, v = l1b + lq, hi = fmaxf(u, v);
                    float lm = hi == -INFINITY ? -INFINITY : hi + log1pf(expf(fminf(u, v) - hi));
                    if (p > 0) part.a += p * (lp - lm);
                    if (q > 0) part.b += q * (lq - lm);
                }
            });
        }
        D2 tot = group_reduce(part, g, scratch2, [](D2 x, const D2& y) { return D2{x.a + y.a, x.b + y.b}; });
        if (!bad) {
            if (OP == OP_TV) value = 0.5 * tot.a;
            if (OP == OP_HELLINGER) value = sqrt(0.5 * tot.a);
            if (OP == OP_JSD) value = (double)a.beta * tot.a + (1.0 - a.beta) * tot.b;
        }
        if (OP == OP_JSD && out) {
            const float towardQ = (float)tot.b, js = scale * (1.f - a.beta);
            map<T, TWO>(t, s, out, n, g, a.vec, [&](int64_t, float xt, float xs) {
                if (bad) return NAN;
                float lp = (xt - mt) * k - lDt, lq = (xs - ms) * k - lDs;
                float q = expf(lq);
                float u = lb + lp, v = l1b + lq, hi = fmaxf(u, v);
                float lm = hi == -INFINITY ? -INFINITY : hi + log1pf(expf(fminf(u, v) - hi));
                return q > 0 ? q * (lq - lm - towardQ) * js : 0.f;
            });
        }
    }

    if (g.tid == 0 && a.loss) a.loss[row] = (float)value;

    if (OP == OP_SOFTMAX || OP == OP_LOG_SOFTMAX) {
        map<T, false>(s, s, out, n, g, a.vec, [&](int64_t, float, float xs) {
            if (bad) return NAN;
            float lq = (xs - ms) * k - lDs;
            return OP == OP_SOFTMAX ? expf(lq) : lq;
        });
    }
    if (has_grad(OP) && OP != OP_JSD && out) {
        const float v = (float)value;
        const float uni = a.smoothing / (float)n, hit = 1.f - a.smoothing;
        map<T, TWO>(t, s, out, n, g, a.vec, [&](int64_t i, float xt, float xs) {
            if (bad) return NAN;
            float lq = (xs - ms) * k - lDs, q = expf(lq);
            if (OP == OP_ENTROPY) return q > 0 ? -q * (lq + v) * scale : 0.f;
            if (OP == OP_CE_LABELS) return (q - (uni + (i == label ? hit : 0.f))) * scale;
            float lp = (xt - mt) * k - lDt, p = expf(lp);
            if (OP == OP_CE || OP == OP_KL) return (q - p) * scale;
            float rkl = OP == OP_RKL ? v : (float)(r.ast / r.s.d + logDt - logDs);
            float gr = q > 0 ? q * ((lq - lp) - rkl) : 0.f;
            if (OP == OP_RKL) return gr * scale;
            return (q - p + gr) * scale; // Jeffreys
        });
    }
}

// dx = p (dy - Σ dy p) k (softmax) or dx = (dy - exp(y) Σ dy) k (log-softmax).
template <typename T, bool LOG>
__global__ void backward_kernel(const T* y, int64_t ys, const T* dy, int64_t dys, T* dx, int64_t dxs, int64_t rows,
                                int64_t cols, float k, bool vec, bool warp_per_row) {
    __shared__ double scratch[32];
    Group g = make_group(warp_per_row);
    int64_t row = warp_per_row ? (int64_t)blockIdx.x * (blockDim.x / 32) + g.slot : (int64_t)blockIdx.x;
    if (row >= rows) return;
    const T* yr = y + row * ys;
    const T* dyr = dy + row * dys;
    T* dxr = dx + row * dxs;
    float part = 0;
    visit<T, true>(yr, dyr, cols, g, vec, [&](int64_t, float yv, float d) { part += LOG ? d : d * yv; });
    double sum = group_reduce((double)part, g, scratch, dsum);
    const float sf = (float)sum;
    map<T, true>(yr, dyr, dxr, cols, g, vec, [&](int64_t, float yv, float d) {
        return LOG ? (d - expf(yv) * sf) * k : yv * (d - sf) * k;
    });
}

struct Launch {
    dim3 grid, block;
    bool warp_per_row;
};

Launch shape(int64_t rows, int64_t cols) {
    Launch l;
    if (cols <= WARP_COLS) {
        l.warp_per_row = true;
        l.block = dim3(256);
        l.grid = dim3((unsigned)((rows + 7) / 8));
    } else {
        l.warp_per_row = false;
        l.block = dim3(cols >= 16384 ? 512 : 256);
        l.grid = dim3((unsigned)rows);
    }
    return l;
}

template <typename T>
bool all_vec(const Args& a) {
    return vec_ok<T>(a.t, a.ts) && vec_ok<T>(a.s, a.ss) && vec_ok<T>(a.out, a.os);
}

template <int OP>
ek_status launch(const char* call, Args a, ek_dtype dtype, void* stream) {
    if (a.rows == 0) return ok();
    Launch l = shape(a.rows, a.cols);
    a.warp_per_row = l.warp_per_row;
    cudaStream_t st = (cudaStream_t)stream;
    switch (dtype) {
        case EK_F32: a.vec = all_vec<float>(a); row_kernel<float, OP><<<l.grid, l.block, 0, st>>>(a); break;
        case EK_BF16: a.vec = all_vec<__nv_bfloat16>(a); row_kernel<__nv_bfloat16, OP><<<l.grid, l.block, 0, st>>>(a); break;
        case EK_F16: a.vec = all_vec<__half>(a); row_kernel<__half, OP><<<l.grid, l.block, 0, st>>>(a); break;
    }
    return check_launch(call);
}

Args base(int64_t rows, int64_t cols, float inv_t) {
    Args a = {};
    a.rows = rows;
    a.cols = cols;
    a.k = inv_t;
    a.beta = 0.5f;
    a.grad_scale = 1.f;
    return a;
}

ek_status check_k(const char* call, float inv_t) {
    if (!(inv_t > 0.f) || isinf(inv_t)) return fail(EK_INVALID_ARGUMENT, call, "inv_t: must be finite and > 0, got %g", (double)inv_t);
    return EK_SUCCESS;
}

#define EK_TRY(expr)                          \
    do {                                      \
        ek_status ek_s_ = (expr);             \
        if (ek_s_ != EK_SUCCESS) return ek_s_; \
    } while (0)

// Pairwise ops: teacher t, student s, per-row loss, optional gradient.
template <int OP>
ek_status pair_op(const char* call, const void* t, int64_t ts, const void* s, int64_t ss, float* loss, void* grad,
                  int64_t gs, float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype,
                  float inv_t, float beta, void* stream) {
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, "t", t, ts, cols, true));
    EK_TRY(check_stride(call, "s", s, ss, cols, true));
    EK_TRY(check_stride(call, "grad", grad, gs, cols, false));
    if (!loss) return fail(EK_INVALID_ARGUMENT, call, "loss: must not be NULL");
    Args a = base(rows, cols, inv_t);
    a.t = t; a.ts = ts; a.s = s; a.ss = ss; a.out = grad; a.os = gs; a.loss = loss;
    a.grad_scale = grad_scale; a.grad_rows = grad_rows; a.beta = beta;
    return launch<OP>(call, a, dtype, stream);
}

template <int OP>
ek_status unary_out(const char* call, const void* x, int64_t xs, void* out, int64_t os, int64_t rows, int64_t cols,
                    ek_dtype dtype, float inv_t, void* stream) {
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, "x", x, xs, cols, true));
    EK_TRY(check_stride(call, "out", out, os, cols, true));
    Args a = base(rows, cols, inv_t);
    a.s = x; a.ss = xs; a.out = out; a.os = os;
    return launch<OP>(call, a, dtype, stream);
}

template <bool LOG>
ek_status backward(const char* call, const void* y, int64_t ys, const void* dy, int64_t dys, void* dx, int64_t dxs,
                   int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream) {
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, LOG ? "y" : "p", y, ys, cols, true));
    EK_TRY(check_stride(call, "dy", dy, dys, cols, true));
    EK_TRY(check_stride(call, "dx", dx, dxs, cols, true));
    if (rows == 0) return ok();
    Launch l = shape(rows, cols);
    cudaStream_t st = (cudaStream_t)stream;
#define EK_BWD(T)                                                                                          \
    backward_kernel<T, LOG><<<l.grid, l.block, 0, st>>>(                                                    \
        static_cast<const T*>(y), ys, static_cast<const T*>(dy), dys, static_cast<T*>(dx), dxs, rows, cols, \
        inv_t, vec_ok<T>(y, ys) && vec_ok<T>(dy, dys) && vec_ok<T>(dx, dxs), l.warp_per_row)
    switch (dtype) {
        case EK_F32: EK_BWD(float); break;
        case EK_BF16: EK_BWD(__nv_bfloat16); break;
        case EK_F16: EK_BWD(__half); break;
    }
#undef EK_BWD
    return check_launch(call);
}

}  // namespace
}  // namespace ek

using namespace ek;

extern "C" {

ek_status ek_logsumexp(const void* x, int64_t x_stride, float* lse, int64_t rows, int64_t cols, ek_dtype dtype,
                       float inv_t, void* stream) {
    const char* call = "ek_logsumexp";
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, "x", x, x_stride, cols, true));
    if (!lse) return fail(EK_INVALID_ARGUMENT, call, "lse: must not be NULL");
    Args a = base(rows, cols, inv_t);
    a.s = x; a.ss = x_stride; a.loss = lse;
    return launch<OP_LSE>(call, a, dtype, stream);
}

ek_status ek_softmax(const void* x, int64_t xs, void* out, int64_t os, int64_t rows, int64_t cols, ek_dtype dtype,
                     float inv_t, void* stream) {
    return unary_out<OP_SOFTMAX>("ek_softmax", x, xs, out, os, rows, cols, dtype, inv_t, stream);
}

ek_status ek_log_softmax(const void* x, int64_t xs, void* out, int64_t os, int64_t rows, int64_t cols,
                         ek_dtype dtype, float inv_t, void* stream) {
    return unary_out<OP_LOG_SOFTMAX>("ek_log_softmax", x, xs, out, os, rows, cols, dtype, inv_t, stream);
}

ek_status ek_softmax_backward(const void* p, int64_t ps, const void* dy, int64_t dys, void* dx, int64_t dxs,
                              int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream) {
    return backward<false>("ek_softmax_backward", p, ps, dy, dys, dx, dxs, rows, cols, dtype, inv_t, stream);
}

ek_status ek_log_softmax_backward(const void* y, int64_t ys, const void* dy, int64_t dys, void* dx, int64_t dxs,
                                  int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream) {
    return backward<true>("ek_log_softmax_backward", y, ys, dy, dys, dx, dxs, rows, cols, dtype, inv_t, stream);
}

ek_status ek_entropy(const void* x, int64_t xs, float* h, void* grad, int64_t gs, float grad_scale,
                     const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream) {
    const char* call = "ek_entropy";
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, "x", x, xs, cols, true));
    EK_TRY(check_stride(call, "grad", grad, gs, cols, false));
    if (!h) return fail(EK_INVALID_ARGUMENT, call, "h: must not be NULL");
    Args a = base(rows, cols, inv_t);
    a.s = x; a.ss = xs; a.out = grad; a.os = gs; a.loss = h; a.grad_scale = grad_scale; a.grad_rows = grad_rows;
    return launch<OP_ENTROPY>(call, a, dtype, stream);
}

ek_status ek_cross_entropy(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, void* grad, int64_t gs,
                           float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype,
                           float inv_t, void* stream) {
    return pair_op<OP_CE>("ek_cross_entropy", t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype,
                          inv_t, 0.5f, stream);
}

ek_status ek_cross_entropy_labels(const void* s, int64_t ss, const int32_t* labels, int32_t ignore_index,
                                  float smoothing, float* loss, void* grad, int64_t gs, float grad_scale,
                                  const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t,
                                  void* stream) {
    const char* call = "ek_cross_entropy_labels";
    EK_TRY(check_rows(call, rows, cols, dtype));
    EK_TRY(check_k(call, inv_t));
    EK_TRY(check_stride(call, "s", s, ss, cols, true));
    EK_TRY(check_stride(call, "grad", grad, gs, cols, false));
    if (!loss || !labels) return fail(EK_INVALID_ARGUMENT, call, "loss and labels: must not be NULL");
    if (!(smoothing >= 0.f && smoothing <= 1.f)) {
        return fail(EK_INVALID_ARGUMENT, call, "smoothing: must be in [0, 1], got %g", (double)smoothing);
    }
    Args a = base(rows, cols, inv_t);
    a.s = s; a.ss = ss; a.out = grad; a.os = gs; a.loss = loss; a.labels = labels; a.ignore_index = ignore_index;
    a.smoothing = smoothing; a.grad_scale = grad_scale; a.grad_rows = grad_rows;
    return launch<OP_CE_LABELS>(call, a, dtype, stream);
}

ek_status ek_kl(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, void* grad, int64_t gs,
                float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t,
                void* stream) {
    return pair_op<OP_KL>("ek_kl", t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype, inv_t,
                          0.5f, stream);
}

ek_status ek_rkl(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, void* grad, int64_t gs,
                 float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t,
                 void* stream) {
    return pair_op<OP_RKL>("ek_rkl", t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype, inv_t,
                           0.5f, stream);
}

ek_status ek_jsd(const void* t, int64_t ts, const void* s, int64_t ss, float beta, float* loss, void* grad,
                 int64_t gs, float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype,
                 float inv_t, void* stream) {
    if (!(beta >= 0.f && beta <= 1.f)) return fail(EK_INVALID_ARGUMENT, "ek_jsd", "beta: must be in [0, 1], got %g", (double)beta);
    // SPEC §1: the endpoints are the two KLs (Liger/TRL convention), not the formula's limit 0.
    if (beta == 0.f) return ek_kl(t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype, inv_t, stream);
    if (beta == 1.f) return ek_rkl(t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype, inv_t, stream);
    return pair_op<OP_JSD>("ek_jsd", t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype, inv_t,
                           beta, stream);
}

ek_status ek_jeffreys(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, void* grad, int64_t gs,
                      float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t,
                      void* stream) {
    return pair_op<OP_JEFFREYS>("ek_jeffreys", t, ts, s, ss, loss, grad, gs, grad_scale, grad_rows, rows, cols, dtype,
                                inv_t, 0.5f, stream);
}

ek_status ek_tv(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, int64_t rows, int64_t cols,
                ek_dtype dtype, float inv_t, void* stream) {
    return pair_op<OP_TV>("ek_tv", t, ts, s, ss, loss, nullptr, cols, 1.f, nullptr, rows, cols, dtype, inv_t, 0.5f,
                          stream);
}

ek_status ek_hellinger(const void* t, int64_t ts, const void* s, int64_t ss, float* loss, int64_t rows, int64_t cols,
                       ek_dtype dtype, float inv_t, void* stream) {
    return pair_op<OP_HELLINGER>("ek_hellinger", t, ts, s, ss, loss, nullptr, cols, 1.f, nullptr, rows, cols, dtype,
                                 inv_t, 0.5f, stream);
}

}  // extern "C"
