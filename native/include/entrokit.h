/*
 * entrokit.h: the C ABI of libentrokit_cuda.so, the one header the Java side binds to (jextract).
 *
 * Conventions
 *  - Every function returns an ek_status. On failure, ek_last_error() gives a text for this thread
 *    naming the call, and ek_last_cuda_error() the cudaError_t code when CUDA failed (0 otherwise).
 *  - Tensors are device pointers to rows of `cols` elements; consecutive rows are `*_stride`
 *    elements apart (stride >= cols). Sizes and strides are int64_t, counted in elements.
 *  - `dtype` (ek_dtype) is the element type of the logit inputs and of the same-shaped outputs
 *    (probabilities, log-probabilities, gradients); per-row values (losses, logsumexp) are float32.
 *    Accumulation is float32 per thread and float64 across threads.
 *  - `inv_t` is 1/T (temperature): logits are multiplied by it first.
 *  - `stream` is a cudaStream_t (NULL = the legacy default stream); every op is asynchronous.
 *  - A gradient pointer may be NULL (forward only). The gradient of row r is scaled by
 *    grad_scale * inv_t, times grad_rows[r] when grad_rows is not NULL (an upstream gradient).
 *  - Special rows follow SPEC §1: NaN or +inf anywhere, or every logit -inf, gives NaN outputs.
 *  - The library links the CUDA runtime statically: it loads on a machine without a GPU or driver,
 *    and ek_device_count then fails with EK_CUDA_ERROR (e.g. cuda error 35, insufficient driver).
 */
#ifndef ENTROKIT_H
#define ENTROKIT_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EK_API __attribute__((visibility("default")))
#else
#define EK_API
#endif

/* ------------------------------------------------------------------ status, types */

typedef enum ek_status {
    EK_SUCCESS = 0,
    EK_INVALID_ARGUMENT = 1, /* a size, stride, dtype or pointer was refused before any work */
    EK_CUDA_ERROR = 2,       /* a CUDA runtime call failed: see ek_last_cuda_error() */
    EK_UNSUPPORTED = 3       /* a valid request this build cannot serve (e.g. too many columns) */
} ek_status;

typedef enum ek_dtype {
    EK_F32 = 0,
    EK_BF16 = 1,
    EK_F16 = 2
} ek_dtype;

/* The text of the last failure on the calling thread ("" when none). Valid until the next call. */
EK_API const char* ek_last_error(void);

/* The cudaError_t of the last failure on the calling thread, or 0 when it was not a CUDA error. */
EK_API int ek_last_cuda_error(void);

/* The version of this library as major*10000 + minor*100 + patch. */
EK_API int ek_version(void);

/* ------------------------------------------------------------------ runtime wrappers */

typedef struct ek_device_info {
    char name[256];
    int32_t major;                   /* compute capability */
    int32_t minor;
    int64_t total_memory;            /* bytes */
    int32_t multiprocessors;
    int32_t max_threads_per_block;
    int64_t shared_memory_per_block_optin; /* bytes */
    int64_t l2_cache_size;           /* bytes */
    int32_t memory_bus_width;        /* bits */
    int32_t pci_bus_id;
} ek_device_info;

EK_API ek_status ek_runtime_version(int32_t* version);
/* 0 when no driver is installed (not an error). */
EK_API ek_status ek_driver_version(int32_t* version);
EK_API ek_status ek_device_count(int32_t* count);
EK_API ek_status ek_device_get_info(int32_t device, ek_device_info* info);
EK_API ek_status ek_set_device(int32_t device);
EK_API ek_status ek_get_device(int32_t* device);
EK_API ek_status ek_mem_get_info(int64_t* free_bytes, int64_t* total_bytes);
EK_API ek_status ek_device_synchronize(void);

EK_API ek_status ek_malloc(void** ptr, int64_t bytes);
EK_API ek_status ek_free(void* ptr);
/* Page-locked host memory, for staging asynchronous copies. */
EK_API ek_status ek_malloc_host(void** ptr, int64_t bytes);
EK_API ek_status ek_free_host(void* ptr);

/* Copies with cudaMemcpyDefault (unified addressing decides the direction). */
EK_API ek_status ek_memcpy_async(void* dst, const void* src, int64_t bytes, void* stream);
EK_API ek_status ek_memset_async(void* ptr, int32_t value, int64_t bytes, void* stream);

EK_API ek_status ek_stream_create(void** stream);
EK_API ek_status ek_stream_synchronize(void* stream);
EK_API ek_status ek_stream_destroy(void* stream);
EK_API ek_status ek_stream_wait_event(void* stream, void* event);

EK_API ek_status ek_event_create(void** event);
EK_API ek_status ek_event_record(void* event, void* stream);
EK_API ek_status ek_event_synchronize(void* event);
EK_API ek_status ek_event_elapsed_ms(float* ms, void* start, void* end);
EK_API ek_status ek_event_destroy(void* event);

/* ------------------------------------------------------------------ SPEC §1: distribution ops */

/* lse[r] = logsumexp(x[r] * inv_t). */
EK_API ek_status ek_logsumexp(const void* x, int64_t x_stride, float* lse, int64_t rows, int64_t cols,
                              ek_dtype dtype, float inv_t, void* stream);

EK_API ek_status ek_softmax(const void* x, int64_t x_stride, void* out, int64_t out_stride, int64_t rows,
                            int64_t cols, ek_dtype dtype, float inv_t, void* stream);

EK_API ek_status ek_log_softmax(const void* x, int64_t x_stride, void* out, int64_t out_stride, int64_t rows,
                                int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* dx = p * (dy - sum(dy * p)) * inv_t. */
EK_API ek_status ek_softmax_backward(const void* p, int64_t p_stride, const void* dy, int64_t dy_stride, void* dx,
                                     int64_t dx_stride, int64_t rows, int64_t cols, ek_dtype dtype, float inv_t,
                                     void* stream);

/* dx = (dy - exp(y) * sum(dy)) * inv_t, y the log-softmax output. */
EK_API ek_status ek_log_softmax_backward(const void* y, int64_t y_stride, const void* dy, int64_t dy_stride,
                                         void* dx, int64_t dx_stride, int64_t rows, int64_t cols, ek_dtype dtype,
                                         float inv_t, void* stream);

/* h[r] = entropy of softmax(x[r] * inv_t); grad = -p (log p + H), scaled. */
EK_API ek_status ek_entropy(const void* x, int64_t x_stride, float* h, void* grad, int64_t grad_stride,
                            float grad_scale, const float* grad_rows, int64_t rows, int64_t cols, ek_dtype dtype,
                            float inv_t, void* stream);

/* Soft cross entropy CE(softmax(t), softmax(s)); grad w.r.t. s: q - p. */
EK_API ek_status ek_cross_entropy(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss,
                                  void* grad, int64_t grad_stride, float grad_scale, const float* grad_rows,
                                  int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* Label cross entropy with smoothing; rows whose label == ignore_index get loss 0 and gradient 0.
 * A label outside [0, cols) that is not ignore_index gives a NaN row. */
EK_API ek_status ek_cross_entropy_labels(const void* s, int64_t s_stride, const int32_t* labels,
                                         int32_t ignore_index, float smoothing, float* loss, void* grad,
                                         int64_t grad_stride, float grad_scale, const float* grad_rows,
                                         int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* KL(p || q), p = softmax(t), q = softmax(s); grad w.r.t. s: q - p. */
EK_API ek_status ek_kl(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss, void* grad,
                       int64_t grad_stride, float grad_scale, const float* grad_rows, int64_t rows, int64_t cols,
                       ek_dtype dtype, float inv_t, void* stream);

/* KL(q || p); grad w.r.t. s: q (log q - log p) - q KL(q || p). */
EK_API ek_status ek_rkl(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss, void* grad,
                        int64_t grad_stride, float grad_scale, const float* grad_rows, int64_t rows, int64_t cols,
                        ek_dtype dtype, float inv_t, void* stream);

/* Generalized JSD with 0 <= beta <= 1 (beta 0 is KL(p||q), beta 1 is KL(q||p), as SPEC §1 says). */
EK_API ek_status ek_jsd(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float beta, float* loss,
                        void* grad, int64_t grad_stride, float grad_scale, const float* grad_rows, int64_t rows,
                        int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* KL(p||q) + KL(q||p); grad is the sum of both gradients. */
EK_API ek_status ek_jeffreys(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss,
                             void* grad, int64_t grad_stride, float grad_scale, const float* grad_rows, int64_t rows,
                             int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* Total variation and Hellinger distance (forward only). */
EK_API ek_status ek_tv(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss, int64_t rows,
                       int64_t cols, ek_dtype dtype, float inv_t, void* stream);
EK_API ek_status ek_hellinger(const void* t, int64_t t_stride, const void* s, int64_t s_stride, float* loss,
                              int64_t rows, int64_t cols, ek_dtype dtype, float inv_t, void* stream);

/* ------------------------------------------------------------------ SPEC §2: selection and sampling */

typedef enum ek_filter_kind {
    EK_FILTER_TOP_K = 0,
    EK_FILTER_TOP_P = 1,
    EK_FILTER_MIN_P = 2,
    EK_FILTER_TOP_H_PAPER = 3,
    EK_FILTER_TOP_H_NORMALIZED = 4
} ek_filter_kind;

typedef struct ek_filter {
    int32_t kind;  /* ek_filter_kind */
    int32_t k;     /* top-k: k >= 1 */
    float value;   /* top-p: p; min-p: r; top-H: alpha */
    int32_t n;     /* top-H: n >= 1 */
} ek_filter;

/* The kept set of a pipeline is a prefix of SPEC order; at most EK_MAX_FILTERS filters. */
#define EK_MAX_FILTERS 8
/* Top-H looks at the first n <= EK_MAX_TOP_H_N tokens; top-k needs k <= EK_MAX_TOP_K. */
#define EK_MAX_TOP_H_N 1024
#define EK_MAX_TOP_K 1024

/* Top-k in SPEC order (probability descending, ties by ascending index) by radix select on the
 * float bits: indices[r*k + j] (int32), values (the logits, dtype of x, may be NULL) and probs
 * (float32 softmax(x*inv_t) of the kept tokens over the whole row, may be NULL). Special rows get
 * index -1 and NaN. */
EK_API ek_status ek_top_k(const void* x, int64_t x_stride, int64_t rows, int64_t cols, ek_dtype dtype,
                          float temperature, int32_t k, int32_t* indices, void* values, float* probs, void* stream);

/* The kept set of a filter pipeline: mask[r*mask_stride + i] = 1 or 0 (uint8), count[r] = kept
 * (may be NULL). Special rows keep nothing (count 0). */
EK_API ek_status ek_kept_mask(const void* x, int64_t x_stride, int64_t rows, int64_t cols, ek_dtype dtype,
                              float temperature, const ek_filter* filters, int32_t n_filters, uint8_t* mask,
                              int64_t mask_stride, int32_t* count, void* stream);

/* out = x where kept, -inf elsewhere (NaN rows for special rows); out may equal x. */
EK_API ek_status ek_mask_logits(const void* x, int64_t x_stride, void* out, int64_t out_stride, int64_t rows,
                                int64_t cols, ek_dtype dtype, float temperature, const ek_filter* filters,
                                int32_t n_filters, void* stream);

/* One token per row from the kept, renormalized distribution, drawn with Philox4x32-10 (key = seed,
 * counter = (row_offset + r, step)), exactly as dev.entrokit.internal.Philox and the scalar sampler:
 * walk the kept tokens in ascending index order and take the first whose running weight sum exceeds
 * u * total. temperature 0 is greedy (lowest index of the maximum). Special rows give -1.
 * `seeds` (int64 per row, may be NULL) overrides `seed` row by row. */
EK_API ek_status ek_sample(const void* x, int64_t x_stride, int64_t rows, int64_t cols, ek_dtype dtype,
                           float temperature, const ek_filter* filters, int32_t n_filters, uint64_t seed,
                           const int64_t* seeds, int32_t row_offset, int64_t step, int32_t* tokens, void* stream);

/* ------------------------------------------------------------------ SPEC §3: Sinkhorn */

typedef enum ek_cost_kind {
    EK_COST_GIVEN = 0,      /* C is given: [batch, n, m] float32, contiguous */
    EK_COST_SQEUCLIDEAN = 1,/* ||x_i - y_j||^2 from points x [batch, n, d] and y [batch, m, d] */
    EK_COST_L1 = 2,
    EK_COST_L2 = 3
} ek_cost_kind;

/* Log-domain Sinkhorn, one thread block per problem, iterating inside one launch with f and g in
 * shared memory. a, b: [batch, n] and [batch, m] marginals (NULL = uniform). Outputs (float32,
 * contiguous): f [batch, n], g [batch, m], iterations [batch] (int32), error [batch] (L1 error of the
 * row marginal), cost [batch] (<P, C>), objective [batch] (<P,C> + eps * KL(P || a b^T)), plan
 * [batch, n, m] (may be NULL). rho <= 0 means balanced; rho > 0 damps the updates by rho/(rho+eps).
 * eps_start > eps anneals eps by eps_factor per iteration down to eps. A problem stops when its error
 * is <= tol (tol < 0: always max_iter iterations). Needs n + m <= 12288. */
EK_API ek_status ek_sinkhorn(int32_t cost_kind, const float* cost, const float* x, const float* y, int64_t batch,
                             int64_t n, int64_t m, int64_t d, const float* a, const float* b, float eps,
                             float eps_start, float eps_factor, float rho, int32_t max_iter, float tol, float* f,
                             float* g, int32_t* iterations, float* error, float* transport_cost, float* objective,
                             float* plan, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* ENTROKIT_H */
