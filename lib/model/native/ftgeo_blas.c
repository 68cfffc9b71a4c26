/*
 * Optional native matrix product for the tfjs wasm backend: cblas_sgemm (OpenBLAS, multi-threaded) run directly on
 * the wasm heap. The wasm backend keeps every tensor in one WebAssembly.Memory; JS passes that memory's
 * ArrayBuffer and byte offsets, so nothing is copied. Used by lib/model/native-blas.ts when built; the pure wasm
 * kernels remain the fallback.
 *
 * sgemm(heap, batch, aOff, aStride, bOff, bStride, cOff, m, n, k, transA, transB, biasOff)
 *   for each i < batch: C_i[m,n] = op(A_i) op(B_i) (+ bias[n] broadcast over rows when biasOff >= 0)
 *   offsets and strides in bytes; a stride of 0 broadcasts that operand over the batch.
 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 13) {
    napi_throw_error(env, NULL, "ftgeo_blas.sgemm: expected 13 arguments");
    return NULL;
  }
  void *heap = NULL;
  size_t heapLen = 0;
  bool isAb = false;
  napi_is_arraybuffer(env, argv[0], &isAb);
  if (!isAb || napi_get_arraybuffer_info(env, argv[0], &heap, &heapLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "ftgeo_blas.sgemm: argument 1 must be the wasm heap ArrayBuffer");
    return NULL;
  }
  double v[12];
  for (int i = 0; i < 12; i++) {
    if (napi_get_value_double(env, argv[i + 1], &v[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "ftgeo_blas.sgemm: arguments 2-13 must be numbers");
      return NULL;
    }
  }
  const int64_t batch = (int64_t)v[0], aOff = (int64_t)v[1], aStride = (int64_t)v[2], bOff = (int64_t)v[3];
  const int64_t bStride = (int64_t)v[4], cOff = (int64_t)v[5];
  const int m = (int)v[6], n = (int)v[7], k = (int)v[8];
  const int transA = v[9] != 0, transB = v[10] != 0;
  const int64_t biasOff = (int64_t)v[11];
  /* Bounds: every operand must lie inside the heap. */
  const int64_t aBytes = (int64_t)m * k * 4, bBytes = (int64_t)k * n * 4, cBytes = (int64_t)m * n * 4;
  if (batch < 1 || m < 1 || n < 1 || k < 1 || aOff < 0 || bOff < 0 || cOff < 0 ||
      aOff + aStride * (batch - 1) + aBytes > (int64_t)heapLen || bOff + bStride * (batch - 1) + bBytes > (int64_t)heapLen ||
      cOff + cBytes * batch > (int64_t)heapLen || (biasOff >= 0 && biasOff + (int64_t)n * 4 > (int64_t)heapLen)) {
    napi_throw_range_error(env, NULL, "ftgeo_blas.sgemm: operand outside the heap");
    return NULL;
  }
  char *base = (char *)heap;
  for (int64_t i = 0; i < batch; i++) {
    const float *A = (const float *)(base + aOff + aStride * i);
    const float *B = (const float *)(base + bOff + bStride * i);
    float *C = (float *)(base + cOff + cBytes * i);
    float beta = 0.0f;
    if (biasOff >= 0) {
      const float *bias = (const float *)(base + biasOff);
      for (int r = 0; r < m; r++) memcpy(C + (int64_t)r * n, bias, (size_t)n * 4);
      beta = 1.0f;
    }
    if (m == 1 && !transA && biasOff < 0) {
      /* A row vector times B (e.g. column sums as ones x B): sgemv streams B once; sgemm with m = 1 is slow. */
      if (transB) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, B, k, A, 1, 0.0f, C, 1);
      else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, B, n, A, 1, 0.0f, C, 1);
      continue;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A,
                transA ? m : k, B, transB ? k : n, beta, C, n);
  }
  return NULL;
}

/* Reads a heap ArrayBuffer and `count` numbers after it; returns the heap base or NULL (with an exception). */
static char *heapArgs(napi_env env, napi_callback_info info, size_t count, double *v, size_t *heapLen) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *heap = NULL;
  bool isAb = false;
  if (argc != count + 1 || napi_is_arraybuffer(env, argv[0], &isAb) != napi_ok || !isAb ||
      napi_get_arraybuffer_info(env, argv[0], &heap, heapLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "ftgeo_blas: expected (heap ArrayBuffer, numbers...)");
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_double(env, argv[i + 1], &v[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "ftgeo_blas: offsets and sizes must be numbers");
      return NULL;
    }
  }
  return (char *)heap;
}

static int inHeap(napi_env env, double off, double n, size_t heapLen) {
  if (off < 0 || n < 0 || off + n * 4 > (double)heapLen) {
    napi_throw_range_error(env, NULL, "ftgeo_blas: operand outside the heap");
    return 0;
  }
  return 1;
}

/*
 * exp and erf in float32 written so gcc vectorises the loops (glibc's erff is a scalar call, ~10x slower here).
 * fast_exp: Cody-Waite reduction x = n ln2 + r, degree-6 Taylor polynomial for e^r on |r| <= ln2/2 (relative error
 * ~2e-7), scaled by 2^n through the exponent bits; inputs below -87 give 0 (no denormals).
 * fast_erf: Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), the form PyTorch's vectorised CPU erf uses.
 * Built with -ffast-math so gcc vectorises them; a NaN input still gives NaN (GELU multiplies by x).
 */
static inline float fast_exp(float x) {
  x = fminf(fmaxf(x, -87.0f), 88.0f);
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  union { int32_t i; float f; } u;
  u.i = ((int32_t)n + 127) << 23;
  return p * u.f;
}

static inline float fast_erf(float x) {
  const float a = fabsf(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float y = 1.0f - poly * fast_exp(-a * a);
  return copysignf(y, x);
}

static napi_value gelu(napi_env env, napi_callback_info info) {
  double v[3];
  size_t len = 0;
  char *base = heapArgs(env, info, 3, v, &len);
  if (!base || !inHeap(env, v[0], v[2], len) || !inHeap(env, v[1], v[2], len)) return NULL;
  const float *x = (const float *)(base + (int64_t)v[0]);
  float *y = (float *)(base + (int64_t)v[1]);
  const int64_t n = (int64_t)v[2];
  for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
  return NULL;
}

static napi_value geluGrad(napi_env env, napi_callback_info info) {
  double v[4];
  size_t len = 0;
  char *base = heapArgs(env, info, 4, v, &len);
  if (!base || !inHeap(env, v[0], v[3], len) || !inHeap(env, v[1], v[3], len) || !inHeap(env, v[2], v[3], len)) return NULL;
  const float *x = (const float *)(base + (int64_t)v[0]);
  const float *dy = (const float *)(base + (int64_t)v[1]);
  float *g = (float *)(base + (int64_t)v[2]);
  const int64_t n = (int64_t)v[3];
  for (int64_t i = 0; i < n; i++) {
    const float cdf = 0.5f * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * fast_exp(-0.5f * x[i] * x[i]);
    g[i] = dy[i] * (cdf + x[i] * pdf);
  }
  return NULL;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) {
    int32_t t = 0;
    if (napi_get_value_int32(env, argv[0], &t) == napi_ok && t > 0) openblas_set_num_threads(t);
  }
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &f);
  napi_set_named_property(env, exports, "sgemm", f);
  napi_create_function(env, "gelu", NAPI_AUTO_LENGTH, gelu, NULL, &f);
  napi_set_named_property(env, exports, "gelu", f);
  napi_create_function(env, "geluGrad", NAPI_AUTO_LENGTH, geluGrad, NULL, &f);
  napi_set_named_property(env, exports, "geluGrad", f);
  napi_create_function(env, "threads", NAPI_AUTO_LENGTH, threads, NULL, &f);
  napi_set_named_property(env, exports, "threads", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
