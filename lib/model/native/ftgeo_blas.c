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
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A,
                transA ? m : k, B, transB ? k : n, beta, C, n);
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
  napi_create_function(env, "threads", NAPI_AUTO_LENGTH, threads, NULL, &f);
  napi_set_named_property(env, exports, "threads", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
