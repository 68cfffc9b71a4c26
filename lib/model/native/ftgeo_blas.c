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
#include <stdlib.h>
#include <string.h>
#include "ftgeo_args.h"
#include "ftgeo_kheap.h"

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

/*
 * sgemmArrays(transA, transB, m, n, k, A, lda, B, ldb, beta, C, ldc): C = op(A) op(B) + beta C on plain
 * Float32Arrays (any ArrayBuffer, including SharedArrayBuffers; their byte offsets are honoured), row-major with
 * leading dimensions in elements. For callers that keep their own buffers (the classifier probe) and would
 * otherwise pay a tensor upload per product.
 */
static napi_value sgemmArrays(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 12) {
    napi_throw_error(env, NULL, "ftgeo_blas.sgemmArrays: expected 12 arguments (transA, transB, m, n, k, A, lda, B, ldb, beta, C, ldc)");
    return NULL;
  }
  const int numIdx[8] = {0, 1, 2, 3, 4, 6, 8, 11};
  double v[12];
  for (int i = 0; i < 8; i++) {
    if (napi_get_value_double(env, argv[numIdx[i]], &v[numIdx[i]]) != napi_ok) {
      napi_throw_type_error(env, NULL, "ftgeo_blas.sgemmArrays: flags, sizes and leading dimensions must be numbers");
      return NULL;
    }
  }
  if (napi_get_value_double(env, argv[9], &v[9]) != napi_ok) {
    napi_throw_type_error(env, NULL, "ftgeo_blas.sgemmArrays: beta must be a number");
    return NULL;
  }
  size_t la = 0, lb = 0, lc = 0;
  const float *A = floatArray(env, argv[5], &la, "ftgeo_blas.sgemmArrays: A must be a Float32Array");
  if (!A) return NULL;
  const float *B = floatArray(env, argv[7], &lb, "ftgeo_blas.sgemmArrays: B must be a Float32Array");
  if (!B) return NULL;
  float *C = (float *)floatArray(env, argv[10], &lc, "ftgeo_blas.sgemmArrays: C must be a Float32Array");
  if (!C) return NULL;
  const int transA = v[0] != 0, transB = v[1] != 0;
  const int64_t m = (int64_t)v[2], n = (int64_t)v[3], k = (int64_t)v[4], lda = (int64_t)v[6], ldb = (int64_t)v[8], ldc = (int64_t)v[11];
  /* Stored shapes: A is [m, k] ([k, m] when transposed), B is [k, n] ([n, k]), C is [m, n]. */
  const int64_t aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
  if (m < 1 || n < 1 || k < 1 || lda < aCols || ldb < bCols || ldc < n || (aRows - 1) * lda + aCols > (int64_t)la ||
      (bRows - 1) * ldb + bCols > (int64_t)lb || (m - 1) * ldc + n > (int64_t)lc) {
    napi_throw_range_error(env, NULL, "ftgeo_blas.sgemmArrays: sizes or leading dimensions do not fit the arrays");
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              1.0f, A, (int)lda, B, (int)ldb, (float)v[9], C, (int)ldc);
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

/*
 * The classifier probe's elementwise kernels (lib/probe/kernels.ts has the JavaScript twins and the meaning of
 * each): with 200-row minibatches they cost as much as the products when written as JavaScript loops.
 * Arguments are plain typed arrays (read by typedArgs, ftgeo_args.h); sizes are checked against their lengths.
 */

/* probeGather(x, dim, order, start, count, out): out[i, :] = x[order[start + i], :]. */
static napi_value probeGather(napi_env env, napi_callback_info info) {
  float *f[2]; size_t fl[2]; int32_t *ia[1]; size_t il[1]; double v[3];
  if (!typedArgs(env, info, "fninnf", f, fl, ia, il, v)) return NULL;
  const int64_t dim = (int64_t)v[0], start = (int64_t)v[1], count = (int64_t)v[2];
  if (!fits(env, dim >= 1 && start >= 0 && count >= 0 && start + count <= (int64_t)il[0] && count * dim <= (int64_t)fl[1])) return NULL;
  const int64_t rowsX = (int64_t)fl[0] / dim;
  for (int64_t i = 0; i < count; i++) {
    const int64_t r = ia[0][start + i];
    if (!fits(env, r >= 0 && r < rowsX)) return NULL;
    memcpy(f[1] + i * dim, f[0] + r * dim, (size_t)dim * 4);
  }
  return NULL;
}

/* probeBiasAct(out, rows, bias, relu): out[i, j] = act(out[i, j] + bias[j]), act = ReLU or identity. */
static napi_value probeBiasAct(napi_env env, napi_callback_info info) {
  float *f[2]; size_t fl[2]; double v[2];
  if (!typedArgs(env, info, "fnfn", f, fl, NULL, NULL, v)) return NULL;
  const int64_t rows = (int64_t)v[0], cols = (int64_t)fl[1];
  if (!fits(env, rows >= 0 && rows * cols <= (int64_t)fl[0])) return NULL;
  float *out = f[0];
  const float *b = f[1];
  for (int64_t i = 0; i < rows; i++, out += cols) {
    if (v[1] != 0) for (int64_t j = 0; j < cols; j++) out[j] = fmaxf(out[j] + b[j], 0.0f);
    else for (int64_t j = 0; j < cols; j++) out[j] += b[j];
  }
  return NULL;
}

/* probeReluBackward(delta, act, rows, colSum): delta *= [act > 0]; colSum[j] = sum_i delta[i, j]. */
static napi_value probeReluBackward(napi_env env, napi_callback_info info) {
  float *f[3]; size_t fl[3]; double v[1];
  if (!typedArgs(env, info, "ffnf", f, fl, NULL, NULL, v)) return NULL;
  const int64_t rows = (int64_t)v[0], cols = (int64_t)fl[2];
  if (!fits(env, rows >= 0 && rows * cols <= (int64_t)fl[0] && rows * cols <= (int64_t)fl[1])) return NULL;
  float *delta = f[0], *sum = f[2];
  const float *act = f[1];
  memset(sum, 0, (size_t)cols * 4);
  for (int64_t i = 0; i < rows; i++, delta += cols, act += cols) {
    for (int64_t j = 0; j < cols; j++) {
      const float d = act[j] > 0.0f ? delta[j] : 0.0f;
      delta[j] = d;
      sum[j] += d;
    }
  }
  return NULL;
}

/* out[k] = exp(x[k] - max x) for k < K (out may be x); returns the sum, and the max through *mxOut. */
static inline float shiftedExp(const float *x, float *out, int64_t K, float *mxOut) {
  float mx = x[0];
  for (int64_t k = 1; k < K; k++) mx = fmaxf(mx, x[k]);
  float s = 0.0f;
  for (int64_t k = 0; k < K; k++) {
    out[k] = fast_exp(x[k] - mx);
    s += out[k];
  }
  *mxOut = mx;
  return s;
}

/*
 * probeSoftmaxXent(z, rows, y, order, start, colSum) -> summed cross-entropy of the rows. z [rows, K] holds the
 * logits and becomes softmax(z) - onehot(y[order[start + i]]); colSum[k] = sum_i of that. Probabilities are clipped
 * to [eps, 1 - eps] of float32 in the loss, as sklearn's log_loss does.
 */
static napi_value probeSoftmaxXent(napi_env env, napi_callback_info info) {
  float *f[2]; size_t fl[2]; int32_t *ia[2]; size_t il[2]; double v[2];
  if (!typedArgs(env, info, "fniinf", f, fl, ia, il, v)) return NULL;
  const int64_t rows = (int64_t)v[0], start = (int64_t)v[1], K = (int64_t)fl[1];
  if (!fits(env, rows >= 0 && start >= 0 && rows * K <= (int64_t)fl[0] && start + rows <= (int64_t)il[1])) return NULL;
  float *z = f[0], *sum = f[1];
  memset(sum, 0, (size_t)K * 4);
  double loss = 0;
  const float epsF = 1.1920929e-7f;
  for (int64_t i = 0; i < rows; i++, z += K) {
    const int64_t r = ia[1][start + i];
    if (!fits(env, r >= 0 && r < (int64_t)il[0])) return NULL;
    const int32_t yi = ia[0][r];
    if (!fits(env, yi >= 0 && yi < K)) return NULL;
    float mx;
    const float s = shiftedExp(z, z, K, &mx);
    const float inv = 1.0f / s;
    for (int64_t k = 0; k < K; k++) z[k] *= inv;
    loss -= log(fminf(1.0f - epsF, fmaxf(epsF, z[yi])));
    z[yi] -= 1.0f;
    for (int64_t k = 0; k < K; k++) sum[k] += z[k];
  }
  napi_value out;
  napi_create_double(env, loss, &out);
  return out;
}

/*
 * probeAdam(w, g, m, v, alpha, inv, lrT) -> sum(w^2) before the update. Adam (betas 0.9 / 0.999, eps 1e-8) with
 * sklearn's gradient (g + alpha w) * inv and the bias-corrected step size lrT.
 */
static napi_value probeAdam(napi_env env, napi_callback_info info) {
  float *f[4]; size_t fl[4]; double v[3];
  if (!typedArgs(env, info, "ffffnnn", f, fl, NULL, NULL, v)) return NULL;
  const int64_t n = (int64_t)fl[0];
  if (!fits(env, (int64_t)fl[1] >= n && (int64_t)fl[2] >= n && (int64_t)fl[3] >= n)) return NULL;
  float *w = f[0], *m = f[2], *vv = f[3];
  const float *g = f[1];
  const float alpha = (float)v[0], inv = (float)v[1], lrT = (float)v[2];
  double sq = 0.0; /* the loss's L2 term decides when training stops: summed in double */
  for (int64_t i = 0; i < n; i++) {
    const float wi = w[i];
    sq += (double)wi * wi;
    const float gi = (g[i] + alpha * wi) * inv;
    const float mi = 0.9f * m[i] + 0.1f * gi;
    const float vi = 0.999f * vv[i] + 0.001f * gi * gi;
    m[i] = mi;
    vv[i] = vi;
    w[i] = wi - lrT * mi / (sqrtf(vi) + 1e-8f);
  }
  napi_value out;
  napi_create_double(env, sq, &out);
  return out;
}

/*
 * mlmSoftmaxXent(heap, xOff, labelsOff, gradOff, n, V) -> sum over the n rows of logsumexp(x_i) - x_i[label_i].
 * Writes the mean loss's gradient (softmax(x_i) - onehot(label_i)) / n to grad [n, V] in the same pass, so the
 * masked-LM loss reads its 30,522-wide logits once and never builds a one-hot matrix (labels are int32 on the heap).
 */
static napi_value mlmSoftmaxXent(napi_env env, napi_callback_info info) {
  double v[5];
  size_t len = 0;
  char *base = heapArgs(env, info, 5, v, &len);
  const double n = v[3], V = v[4];
  if (!base || !(n >= 1 && V >= 1) || !inHeap(env, v[0], n * V, len) || !inHeap(env, v[1], n, len) || !inHeap(env, v[2], n * V, len)) return NULL;
  const float *x = (const float *)(base + (int64_t)v[0]);
  const int32_t *labels = (const int32_t *)(base + (int64_t)v[1]);
  float *g = (float *)(base + (int64_t)v[2]);
  const int64_t rows = (int64_t)n, K = (int64_t)V;
  const float invN = (float)(1.0 / n);
  double loss = 0;
  for (int64_t i = 0; i < rows; i++, x += K, g += K) {
    const int32_t y = labels[i];
    if (y < 0 || y >= K) {
      napi_throw_range_error(env, NULL, "ftgeo_blas mlmSoftmaxXent: a label is outside [0, vocabulary size)");
      return NULL;
    }
    float mx;
    const float s = shiftedExp(x, g, K, &mx);
    loss += (double)mx + log((double)s) - (double)x[y];
    const float scale = invN / s;
    for (int64_t k = 0; k < K; k++) g[k] *= scale;
    g[y] -= invN;
  }
  napi_value out;
  napi_create_double(env, loss, &out);
  return out;
}


/*
 * knncand(cen, dim, rows, K, C, outSlots, outCount)
 *   Candidates for each listed row's K nearest (squared Euclidean) among the other listed rows of cen (row-major
 *   float64, row length dim), for centroid linkage's first scan (lib/geometry/agglomerate.ts). Distances come from
 *   |x|^2 + |y|^2 - 2 x.y over the rows rounded to float, with the products in blocks through sgemm: they differ from
 *   the exactly summed distances by at most (dim / 2 + 4) 2^-24 (|x| + |y|)^2 (the rounding of the rows moves a
 *   distance by 3 2^-24 (|x| + |y|)^2, a float dot product by dim 2^-24 |x| |y|), below e = (dim + 16) 2^-23
 *   (|x| + max |y|)^2; every row whose approximate distance is at most the K-th smallest
 *   approximate one plus 2 e is a candidate. That set holds every row whose exact distance can be among the K
 *   smallest, so the caller, recomputing exact distances over the candidates only, finds the same K nearest as a
 *   full exact scan. outSlots[i*C ..] gets row i's candidates (as values of rows), outCount[i] their number, or -1 if
 *   there were more than C (the caller then scans that row in full).
 */
static napi_value knncand(napi_env env, napi_callback_info info) {
  FtgeoArg arg[7];
  if (!kernelArgs(env, info, "ftgeo_blas.knncand", "dzizzii", arg)) return NULL;
  const double *cen = arg[0].f64;
  const int32_t dim = arg[1].integer, K = arg[3].integer, C = arg[4].integer;
  const int32_t *rows = arg[2].i32;
  int32_t *outSlots = arg[5].i32, *outCount = arg[6].i32;
  const int64_t L = (int64_t)arg[2].len;
  if (!fitsFor(env, !(dim <= 0 || K < 1 || C < K || (size_t)(L * C) > arg[5].len || (size_t)L > arg[6].len), "ftgeo_blas.knncand",
               "K >= 1, C >= K, outSlots of rows x C and outCount of rows values"))
    return NULL;
  for (int64_t i = 0; i < L; i++) {
    if (rows[i] < 0 || (size_t)(rows[i] + 1) * dim > arg[0].len) {
      napi_throw_range_error(env, NULL, "ftgeo_blas.knncand: a row is outside cen");
      return NULL;
    }
  }
  if (L == 0) return NULL;
  const int64_t B = 256;
  float *X = malloc(sizeof(float) * L * dim);
  double *nrm = malloc(sizeof(double) * L);
  float *G = malloc(sizeof(float) * B * L);
  double *heap = malloc(sizeof(double) * K);
  if (!X || !nrm || !G || !heap) {
    free(X), free(nrm), free(G), free(heap);
    napi_throw_error(env, NULL, "ftgeo_blas.knncand: out of memory");
    return NULL;
  }
  double maxNorm = 0;
  for (int64_t i = 0; i < L; i++) {
    const double *c = cen + (size_t)rows[i] * dim;
    double s = 0, s0 = 0;
    for (int32_t k = 0; k < dim; k++) {
      X[i * dim + k] = (float)c[k];
      s += (double)X[i * dim + k] * X[i * dim + k];
      s0 += c[k] * c[k];
    }
    nrm[i] = s;
    if (sqrt(s0) > maxNorm) maxNorm = sqrt(s0);
  }
  for (int64_t i0 = 0; i0 < L; i0 += B) {
    const int64_t nb = L - i0 < B ? L - i0 : B;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)L, dim, 1.0f, X + i0 * dim, dim, X, dim, 0.0f, G, (int)L);
    for (int64_t r = 0; r < nb; r++) {
      const int64_t i = i0 + r;
      const float *g = G + r * L;
      int32_t *out = outSlots + i * C;
      if (L - 1 <= K) {
        int32_t c = 0;
        for (int64_t j = 0; j < L; j++) if (j != i) out[c++] = rows[j];
        outCount[i] = c;
        continue;
      }
      // The K smallest approximate distances in a max-heap; heap[0] is the K-th smallest at the end.
      int32_t h = 0;
      for (int64_t j = 0; j < L; j++) {
        if (j == i) continue;
        const double a = nrm[i] + nrm[j] - 2 * (double)g[j];
        kheapOffer(heap, &h, K, a);
      }
      const double ni = sqrt(nrm[i]) * (1 + ldexp(1.0, -22)) + maxNorm;
      const double e = (dim + 16) * ldexp(1.0, -23) * ni * ni;
      const double limit = heap[0] + 2 * e;
      int32_t c = 0;
      for (int64_t j = 0; j < L && c <= C; j++) {
        if (j == i) continue;
        if (nrm[i] + nrm[j] - 2 * (double)g[j] <= limit) {
          if (c < C) out[c] = rows[j];
          c++;
        }
      }
      outCount[i] = c > C ? -1 : c;
    }
  }
  free(X), free(nrm), free(G), free(heap);
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

// Writable, enumerable and configurable, as napi_set_named_property would make them.
#define EXPORT(fn) {#fn, NULL, fn, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      EXPORT(sgemm),        EXPORT(sgemmArrays),       EXPORT(gelu),             EXPORT(geluGrad),
      EXPORT(probeGather),  EXPORT(probeBiasAct),      EXPORT(probeReluBackward), EXPORT(probeSoftmaxXent),
      EXPORT(probeAdam),    EXPORT(threads),            EXPORT(mlmSoftmaxXent),  EXPORT(knncand),
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
