// The C ABI's runtime wrappers and its thread-local error state.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common.cuh"

namespace ek {

namespace {
thread_local char g_error[1024] = "";
thread_local int g_cuda_error = 0;
}  // namespace

ek_status fail(ek_status status, const char* call, const char* fmt, ...) {
    int n = std::snprintf(g_error, sizeof g_error, "%s: ", call);
    if (n < 0 || n >= (int)sizeof g_error) n = 0;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_error + n, sizeof g_error - (size_t)n, fmt, ap);
    va_end(ap);
    g_cuda_error = 0;
    return status;
}

ek_status cuda_fail(const char* call, cudaError_t err) {
    std::snprintf(g_error, sizeof g_error, "%s: cuda error %d (%s): %s", call, (int)err, cudaGetErrorName(err),
                  cudaGetErrorString(err));
    g_cuda_error = (int)err;
    cudaGetLastError(); // clear a non-sticky error so that it does not surface at the next call
    return EK_CUDA_ERROR;
}

ek_status ok() {
    g_error[0] = '\0';
    g_cuda_error = 0;
    return EK_SUCCESS;
}

ek_status check_launch(const char* call) {
    cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? ok() : cuda_fail(call, err);
}

ek_status check_rows(const char* call, int64_t rows, int64_t cols, ek_dtype dtype) {
    if (rows < 0) return fail(EK_INVALID_ARGUMENT, call, "rows: must be >= 0, got %lld", (long long)rows);
    if (cols < 1) return fail(EK_INVALID_ARGUMENT, call, "cols: must be >= 1, got %lld", (long long)cols);
    if (cols > INT32_MAX) return fail(EK_UNSUPPORTED, call, "cols: at most 2^31-1, got %lld", (long long)cols);
    if (rows > INT32_MAX) return fail(EK_UNSUPPORTED, call, "rows: at most 2^31-1, got %lld", (long long)rows);
    if (dtype != EK_F32 && dtype != EK_BF16 && dtype != EK_F16) {
        return fail(EK_INVALID_ARGUMENT, call, "dtype: expected EK_F32, EK_BF16 or EK_F16, got %d", (int)dtype);
    }
    return EK_SUCCESS;
}

ek_status check_stride(const char* call, const char* name, const void* ptr, int64_t stride, int64_t cols,
                       bool required) {
    if (ptr == nullptr) {
        return required ? fail(EK_INVALID_ARGUMENT, call, "%s: must not be NULL", name) : EK_SUCCESS;
    }
    if (stride < cols) {
        return fail(EK_INVALID_ARGUMENT, call, "%s_stride: must be >= cols (%lld), got %lld", name, (long long)cols,
                    (long long)stride);
    }
    return EK_SUCCESS;
}

}  // namespace ek

using ek::ok;

extern "C" {

const char* ek_last_error(void) { return ek::g_error; }

int ek_last_cuda_error(void) { return ek::g_cuda_error; }

int ek_version(void) { return 100; } // 0.1.0

ek_status ek_runtime_version(int32_t* version) {
    if (!version) return ek::fail(EK_INVALID_ARGUMENT, "ek_runtime_version", "version: must not be NULL");
    int v = 0;
    EK_CUDA_CHECK("cudaRuntimeGetVersion", cudaRuntimeGetVersion(&v));
    *version = v;
    return ok();
}

ek_status ek_driver_version(int32_t* version) {
    if (!version) return ek::fail(EK_INVALID_ARGUMENT, "ek_driver_version", "version: must not be NULL");
    int v = 0;
    EK_CUDA_CHECK("cudaDriverGetVersion", cudaDriverGetVersion(&v));
    *version = v;
    return ok();
}

ek_status ek_device_count(int32_t* count) {
    if (!count) return ek::fail(EK_INVALID_ARGUMENT, "ek_device_count", "count: must not be NULL");
    *count = 0;
    int n = 0;
    EK_CUDA_CHECK("cudaGetDeviceCount", cudaGetDeviceCount(&n));
    *count = n;
    return ok();
}

ek_status ek_device_get_info(int32_t device, ek_device_info* info) {
    if (!info) return ek::fail(EK_INVALID_ARGUMENT, "ek_device_get_info", "info: must not be NULL");
    cudaDeviceProp p;
    EK_CUDA_CHECK("cudaGetDeviceProperties", cudaGetDeviceProperties(&p, device));
    std::memset(info, 0, sizeof *info);
    std::memcpy(info->name, p.name, strnlen(p.name, sizeof info->name - 1));
    info->major = p.major;
    info->minor = p.minor;
    info->total_memory = (int64_t)p.totalGlobalMem;
    info->multiprocessors = p.multiProcessorCount;
    info->max_threads_per_block = p.maxThreadsPerBlock;
    info->shared_memory_per_block_optin = (int64_t)p.sharedMemPerBlockOptin;
    info->l2_cache_size = p.l2CacheSize;
    info->memory_bus_width = p.memoryBusWidth;
    info->pci_bus_id = p.pciBusID;
    return ok();
}

ek_status ek_set_device(int32_t device) {
    EK_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
    return ok();
}

ek_status ek_get_device(int32_t* device) {
    if (!device) return ek::fail(EK_INVALID_ARGUMENT, "ek_get_device", "device: must not be NULL");
    int d = 0;
    EK_CUDA_CHECK("cudaGetDevice", cudaGetDevice(&d));
    *device = d;
    return ok();
}

ek_status ek_mem_get_info(int64_t* free_bytes, int64_t* total_bytes) {
    if (!free_bytes || !total_bytes) return ek::fail(EK_INVALID_ARGUMENT, "ek_mem_get_info", "outputs: must not be NULL");
    size_t f = 0, t = 0;
    EK_CUDA_CHECK("cudaMemGetInfo", cudaMemGetInfo(&f, &t));
    *free_bytes = (int64_t)f;
    *total_bytes = (int64_t)t;
    return ok();
}

ek_status ek_device_synchronize(void) {
    EK_CUDA_CHECK("cudaDeviceSynchronize", cudaDeviceSynchronize());
    return ok();
}

ek_status ek_malloc(void** ptr, int64_t bytes) {
    if (!ptr) return ek::fail(EK_INVALID_ARGUMENT, "ek_malloc", "ptr: must not be NULL");
    if (bytes < 0) return ek::fail(EK_INVALID_ARGUMENT, "ek_malloc", "bytes: must be >= 0, got %lld", (long long)bytes);
    *ptr = nullptr;
    EK_CUDA_CHECK("cudaMalloc", cudaMalloc(ptr, (size_t)bytes));
    return ok();
}

ek_status ek_free(void* ptr) {
    EK_CUDA_CHECK("cudaFree", cudaFree(ptr));
    return ok();
}

ek_status ek_malloc_host(void** ptr, int64_t bytes) {
    if (!ptr) return ek::fail(EK_INVALID_ARGUMENT, "ek_malloc_host", "ptr: must not be NULL");
    if (bytes < 0) return ek::fail(EK_INVALID_ARGUMENT, "ek_malloc_host", "bytes: must be >= 0, got %lld", (long long)bytes);
    *ptr = nullptr;
    EK_CUDA_CHECK("cudaMallocHost", cudaMallocHost(ptr, (size_t)bytes));
    return ok();
}

ek_status ek_free_host(void* ptr) {
    EK_CUDA_CHECK("cudaFreeHost", cudaFreeHost(ptr));
    return ok();
}

ek_status ek_memcpy_async(void* dst, const void* src, int64_t bytes, void* stream) {
    if (bytes < 0) return ek::fail(EK_INVALID_ARGUMENT, "ek_memcpy_async", "bytes: must be >= 0, got %lld", (long long)bytes);
    if (bytes == 0) return ok();
    if (!dst || !src) return ek::fail(EK_INVALID_ARGUMENT, "ek_memcpy_async", "dst and src: must not be NULL");
    EK_CUDA_CHECK("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, (size_t)bytes, cudaMemcpyDefault, (cudaStream_t)stream));
    return ok();
}

ek_status ek_memset_async(void* ptr, int32_t value, int64_t bytes, void* stream) {
    if (bytes < 0) return ek::fail(EK_INVALID_ARGUMENT, "ek_memset_async", "bytes: must be >= 0, got %lld", (long long)bytes);
    if (bytes == 0) return ok();
    EK_CUDA_CHECK("cudaMemsetAsync", cudaMemsetAsync(ptr, value, (size_t)bytes, (cudaStream_t)stream));
    return ok();
}

ek_status ek_stream_create(void** stream) {
    if (!stream) return ek::fail(EK_INVALID_ARGUMENT, "ek_stream_create", "stream: must not be NULL");
    cudaStream_t s = nullptr;
    EK_CUDA_CHECK("cudaStreamCreateWithFlags", cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    *stream = s;
    return ok();
}

ek_status ek_stream_synchronize(void* stream) {
    EK_CUDA_CHECK("cudaStreamSynchronize", cudaStreamSynchronize((cudaStream_t)stream));
    return ok();
}

ek_status ek_stream_destroy(void* stream) {
    EK_CUDA_CHECK("cudaStreamDestroy", cudaStreamDestroy((cudaStream_t)stream));
    return ok();
}

ek_status ek_stream_wait_event(void* stream, void* event) {
    EK_CUDA_CHECK("cudaStreamWaitEvent", cudaStreamWaitEvent((cudaStream_t)stream, (cudaEvent_t)event, 0));
    return ok();
}

ek_status ek_event_create(void** event) {
    if (!event) return ek::fail(EK_INVALID_ARGUMENT, "ek_event_create", "event: must not be NULL");
    cudaEvent_t e = nullptr;
    EK_CUDA_CHECK("cudaEventCreate", cudaEventCreate(&e));
    *event = e;
    return ok();
}

ek_status ek_event_record(void* event, void* stream) {
    EK_CUDA_CHECK("cudaEventRecord", cudaEventRecord((cudaEvent_t)event, (cudaStream_t)stream));
    return ok();
}

ek_status ek_event_synchronize(void* event) {
    EK_CUDA_CHECK("cudaEventSynchronize", cudaEventSynchronize((cudaEvent_t)event));
    return ok();
}

ek_status ek_event_elapsed_ms(float* ms, void* start, void* end) {
    if (!ms) return ek::fail(EK_INVALID_ARGUMENT, "ek_event_elapsed_ms", "ms: must not be NULL");
    EK_CUDA_CHECK("cudaEventElapsedTime", cudaEventElapsedTime(ms, (cudaEvent_t)start, (cudaEvent_t)end));
    return ok();
}

ek_status ek_event_destroy(void* event) {
    EK_CUDA_CHECK("cudaEventDestroy", cudaEventDestroy((cudaEvent_t)event));
    return ok();
}

}  // extern "C"
