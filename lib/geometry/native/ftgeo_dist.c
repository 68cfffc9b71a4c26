/*
 * Optional native kernel for centroid linkage (lib/geometry/agglomerate.ts): squared Euclidean distances from one
 * row of a float64 matrix to many rows, bit-identical to the JS loop it replaces. Per pair the sum runs in the JS
 * order (even coordinates into s0, odd ones into s1, then s0 + s1) with IEEE double arithmetic: this file must be
 * built WITHOUT -ffast-math and with -ffp-contract=off (no fused multiply-add), so that gcc can neither reorder
 * the sums nor fuse products; speed comes from doing four pairs at once (independent dependency chains).
 *
 * sqdists(cen: Float64Array, dim, q, rows: Int32Array, start, end, out: Float64Array)
 *   out[t - start] = sum over k of (cen[q*dim + k] - cen[rows[t]*dim + k])^2 for start <= t < end; dim even.
 * dotrows and extremedot (below): projections of float32 rows on a float64 vector for the overlap checks, each in
 * the summation order of the JS loop it replaces (same build rules).
 *
 * Arguments are read by kernelArgs (ftgeo_args.h) from each kernel's signature string: 'd' Float64Array,
 * 'f' Float32Array, 'i' Int32Array, 'z' int32, 'n' double, 'b' boolean. A wrong count or kind throws an error
 * naming the kernel; sizes are then checked against the arrays' lengths before any element is read.
 */
#include <node_api.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include "ftgeo_args.h"
#include "ftgeo_kheap.h"
#ifdef __AVX2__
#include <immintrin.h>
#endif

static napi_value sqdists(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.sqdists";
  FtgeoArg arg[7];
  if (!kernelArgs(env, info, kernel, "dzzizzd", arg)) return NULL;
  double *cen = arg[0].f64, *out = arg[6].f64;
  int32_t *rows = arg[3].i32;
  size_t cenLen = arg[0].len, rowsLen = arg[3].len, outLen = arg[6].len;
  int32_t dim = arg[1].integer, q = arg[2].integer, start = arg[4].integer, end = arg[5].integer;
  if (!fitsFor(env, !(dim <= 0 || dim % 2 != 0 || q < 0 || (size_t)(q + 1) * dim > cenLen || start < 0 || end < start ||
                      (size_t)end > rowsLen || (size_t)(end - start) > outLen),
               kernel, "dim must be even and positive, q and [start, end) within the arrays"))
    return NULL;
  for (int32_t t = start; t < end; t++) {
    if (!fitsFor(env, !(rows[t] < 0 || (size_t)(rows[t] + 1) * dim > cenLen), kernel, "a row index is outside the matrix")) return NULL;
  }
  const double *a = cen + (size_t)q * dim;
  int32_t t = start;
  for (; t + 4 <= end; t += 4) {
    const double *b0 = cen + (size_t)rows[t] * dim, *b1 = cen + (size_t)rows[t + 1] * dim;
    const double *b2 = cen + (size_t)rows[t + 2] * dim, *b3 = cen + (size_t)rows[t + 3] * dim;
    double e0 = 0, o0 = 0, e1 = 0, o1 = 0, e2 = 0, o2 = 0, e3 = 0, o3 = 0;
    for (int32_t k = 0; k < dim; k += 2) {
      const double x = a[k], y = a[k + 1];
      double u, v;
      u = x - b0[k]; v = y - b0[k + 1]; e0 += u * u; o0 += v * v;
      u = x - b1[k]; v = y - b1[k + 1]; e1 += u * u; o1 += v * v;
      u = x - b2[k]; v = y - b2[k + 1]; e2 += u * u; o2 += v * v;
      u = x - b3[k]; v = y - b3[k + 1]; e3 += u * u; o3 += v * v;
    }
    out[t - start] = e0 + o0;
    out[t - start + 1] = e1 + o1;
    out[t - start + 2] = e2 + o2;
    out[t - start + 3] = e3 + o3;
  }
  for (; t < end; t++) {
    const double *b = cen + (size_t)rows[t] * dim;
    double e = 0, o = 0;
    for (int32_t k = 0; k < dim; k += 2) {
      const double u = a[k] - b[k], v = a[k + 1] - b[k + 1];
      e += u * u;
      o += v * v;
    }
    out[t - start] = e + o;
  }
  return NULL;
}

/*
 * The shared arguments (data: Float32Array, dim, rows: Int32Array, y: Float64Array) of the row kernels, read by
 * kernelArgs into arg[0..3]: dim positive, y at least dim long (rows_fit; rows_inside leaves y to the kernel), every
 * listed row inside data; else a RangeError.
 */
static int rows_inside(napi_env env, const char *kernel, const FtgeoArg *arg) {
  const int32_t dim = arg[1].integer, *rows = arg[2].i32;
  if (!fitsFor(env, dim > 0, kernel, "dim must be positive")) return 0;
  for (size_t t = 0; t < arg[2].len; t++) {
    if (!fitsFor(env, !(rows[t] < 0 || ((size_t)rows[t] + 1) * (size_t)dim > arg[0].len), kernel, "a row index is outside the matrix")) return 0;
  }
  return 1;
}

static int rows_fit(napi_env env, const char *kernel, const FtgeoArg *arg) {
  if (!fitsFor(env, !(arg[1].integer <= 0 || arg[3].len < (size_t)arg[1].integer), kernel, "dim must be positive and the vector at least dim long")) return 0;
  return rows_inside(env, kernel, arg);
}

/* A float32 row . a float64 vector as matrix.ts's dotRow sums it: coordinates k = 0, 4, 8, ... into s0, 1, 5, ... into
 * s1 and so on, the tail (dim % 4) into s0, then ((s0 + s1) + s2) + s3. */
static inline double dot4(const float *x, const double *y, int32_t dim) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int32_t k = 0;
  for (; k + 3 < dim; k += 4) {
    s0 += (double)x[k] * y[k];
    s1 += (double)x[k + 1] * y[k + 1];
    s2 += (double)x[k + 2] * y[k + 2];
    s3 += (double)x[k + 3] * y[k + 3];
  }
  for (; k < dim; k++) s0 += (double)x[k] * y[k];
  return ((s0 + s1) + s2) + s3;
}

/* dot4 of four (row, vector) pairs at once, out[i] = dot4(x[i], y[i], dim). With AVX2 each pair's four accumulators
 * are the four lanes of one register (lane j is dot4's s_j: the same products added in the same order, multiply and
 * add kept apart by -ffp-contract=off), and the four registers are independent chains: one pair at a time, the
 * adder waits on each addition (gcc's own vectorisation of dot4 keeps one or two chains per row). */
static inline void dot4x4(const float *const x[4], const double *const y[4], int32_t dim, double out[4]) {
#ifdef __AVX2__
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
  int32_t k = 0;
  for (; k + 3 < dim; k += 4) {
    a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x[0] + k)), _mm256_loadu_pd(y[0] + k)));
    a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x[1] + k)), _mm256_loadu_pd(y[1] + k)));
    a2 = _mm256_add_pd(a2, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x[2] + k)), _mm256_loadu_pd(y[2] + k)));
    a3 = _mm256_add_pd(a3, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x[3] + k)), _mm256_loadu_pd(y[3] + k)));
  }
  double lane[4][4];
  _mm256_storeu_pd(lane[0], a0);
  _mm256_storeu_pd(lane[1], a1);
  _mm256_storeu_pd(lane[2], a2);
  _mm256_storeu_pd(lane[3], a3);
  for (int i = 0; i < 4; i++) {
    double s0 = lane[i][0];
    for (int32_t t = k; t < dim; t++) s0 += (double)x[i][t] * y[i][t];
    out[i] = ((s0 + lane[i][1]) + lane[i][2]) + lane[i][3];
  }
#else
  for (int i = 0; i < 4; i++) out[i] = dot4(x[i], y[i], dim);
#endif
}

/* The rows rows[t..t+3] of data, for dot4x4. */
static inline void rows4(const float *data, const int32_t *rows, size_t t, int32_t dim, const float *x[4]) {
  for (int i = 0; i < 4; i++) x[i] = data + (size_t)rows[t + i] * dim;
}

/* Folds v into *best (min or max); returns 1 once the extreme has reached stop (<= stop for a min, >= for a max). */
static inline int extremeStep(int wantMin, double v, double stop, double *best) {
  if (wantMin) {
    if (v < *best) *best = v;
    return *best <= stop;
  }
  if (v > *best) *best = v;
  return *best >= stop;
}

/* matrix.ts's extremeProjection over rows[from..to): the extreme of best and each row . w (dot4's sums), in row order,
 * stopping at the first row that reaches stop. Four rows' products at a time; the ones past a stop are not looked at. */
static double extremeOf(const float *data, const int32_t *rows, size_t from, size_t to, int32_t dim, const double *w, int wantMin, double best, double stop) {
  const double *const y[4] = {w, w, w, w};
  size_t t = from;
  for (; t + 4 <= to; t += 4) {
    const float *x[4];
    double v[4];
    rows4(data, rows, t, dim, x);
    dot4x4(x, y, dim, v);
    for (int i = 0; i < 4; i++)
      if (extremeStep(wantMin, v[i], stop, &best)) return best;
  }
  for (; t < to; t++)
    if (extremeStep(wantMin, dot4(data + (size_t)rows[t] * dim, w, dim), stop, &best)) return best;
  return best;
}

/*
 * Parallel loops: parFor(n, minPart, fn, ctx) splits [0, n) into consecutive parts of at least minPart items (at most
 * parThreads of them, set by threads()), runs fn(ctx, part, from, to) for part 0 here and the others on threads, and
 * returns the number of parts. Each kernel then joins the parts' results in part order, so its output is the single
 * loop's whatever the thread count.
 */
#define PAR_MAX 8
static int32_t parThreads = 1;
typedef void (*ParFn)(void *ctx, int32_t part, size_t from, size_t to);
typedef struct {
  ParFn fn;
  void *ctx;
  int32_t part;
  size_t from, to;
} ParJob;

static void *parRun(void *arg) {
  ParJob *j = (ParJob *)arg;
  j->fn(j->ctx, j->part, j->from, j->to);
  return NULL;
}

/* parFor with at most maxParts parts (and at most parThreads). */
static int32_t parForUpTo(size_t n, size_t minPart, int32_t maxParts, ParFn fn, void *ctx) {
  size_t want = n / minPart;
  const int32_t most = maxParts < parThreads ? maxParts : parThreads;
  int32_t parts = want < (size_t)most ? (int32_t)want : most;
  if (parts < 1) parts = 1;
  ParJob job[PAR_MAX];
  pthread_t tid[PAR_MAX];
  int started[PAR_MAX] = {0};
  for (int32_t i = 0; i < parts; i++) job[i] = (ParJob){fn, ctx, i, (n * (size_t)i) / (size_t)parts, (n * (size_t)(i + 1)) / (size_t)parts};
  for (int32_t i = 1; i < parts; i++) started[i] = pthread_create(&tid[i], NULL, parRun, &job[i]) == 0;
  parRun(&job[0]);
  for (int32_t i = 1; i < parts; i++) {
    if (started[i]) pthread_join(tid[i], NULL);
    else parRun(&job[i]); /* no thread to be had: this part runs here */
  }
  return parts;
}

static int32_t parFor(size_t n, size_t minPart, ParFn fn, void *ctx) {
  return parForUpTo(n, minPart, PAR_MAX, fn, ctx);
}

/* Kernels whose parts each write their kept entries where their own range starts (part i: count[i] of them from
 * from[i] in idx and val) move them together, in part order: the single loop's output. Returns the total. */
static int32_t joinParts(int32_t parts, const size_t *from, const int32_t *count, int32_t *idx, double *val) {
  int32_t n = count[0];
  for (int32_t i = 1; i < parts; i++) {
    memmove(idx + n, idx + from[i], sizeof(int32_t) * (size_t)count[i]);
    memmove(val + n, val + from[i], sizeof(double) * (size_t)count[i]);
    n += count[i];
  }
  return n;
}

/* Rows per part of the projection kernels: 1,024 rows of 128 floats (512 KB) are worth a thread. */
#define ROWS_PART_MIN 1024

typedef struct {
  const float *data;
  const int32_t *rows;
  const double *y;
  double *out;
  int32_t dim;
} DotCtx;

static void dotPart(void *arg, int32_t part, size_t from, size_t to) {
  (void)part;
  const DotCtx *c = (const DotCtx *)arg;
  const double *const y[4] = {c->y, c->y, c->y, c->y};
  size_t t = from;
  for (; t + 4 <= to; t += 4) {
    const float *x[4];
    rows4(c->data, c->rows, t, c->dim, x);
    dot4x4(x, y, c->dim, c->out + t);
  }
  for (; t < to; t++) c->out[t] = dot4(c->data + (size_t)c->rows[t] * c->dim, c->y, c->dim);
}

/*
 * dotrows(data: Float32Array, dim, rows: Int32Array, y: Float64Array, out: Float64Array)
 *   out[t] = row rows[t] . y, summed as dot4 (matrix.ts's dotRow); long row lists in parallel parts.
 */
static napi_value dotrows(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.dotrows";
  FtgeoArg arg[5];
  if (!kernelArgs(env, info, kernel, "fzidd", arg) || !rows_fit(env, kernel, arg)) return NULL;
  float *data = arg[0].f32;
  int32_t dim = arg[1].integer, *rows = arg[2].i32;
  size_t n = arg[2].len, outLen = arg[4].len;
  double *y = arg[3].f64, *out = arg[4].f64;
  if (!fitsFor(env, outLen >= n, kernel, "out needs a place for every row")) return NULL;
  DotCtx ctx = {data, rows, y, out, dim};
  parFor(n, ROWS_PART_MIN, dotPart, &ctx);
  return NULL;
}

/*
 * maxsqdist(data: Float32Array, dim, rows: Int32Array, centre: Float64Array, start) -> number
 *   The largest of start and every row's squared distance from centre, each summed as overlap.ts's sqDistFromCentre
 *   sums it (one accumulator, coordinates in order: the same double); four rows at a time, as independent chains.
 */
static napi_value maxsqdist(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.maxsqdist";
  FtgeoArg arg[5];
  if (!kernelArgs(env, info, kernel, "fzidn", arg) || !rows_fit(env, kernel, arg)) return NULL;
  const float *data = arg[0].f32;
  const int32_t dim = arg[1].integer, *rows = arg[2].i32;
  const size_t n = arg[2].len;
  const double *c = arg[3].f64;
  double best = arg[4].number;
  size_t t = 0;
  for (; t + 4 <= n; t += 4) {
    const float *x0 = data + (size_t)rows[t] * dim, *x1 = data + (size_t)rows[t + 1] * dim;
    const float *x2 = data + (size_t)rows[t + 2] * dim, *x3 = data + (size_t)rows[t + 3] * dim;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int32_t k = 0; k < dim; k++) {
      const double ck = c[k];
      double u;
      u = (double)x0[k] - ck; s0 += u * u;
      u = (double)x1[k] - ck; s1 += u * u;
      u = (double)x2[k] - ck; s2 += u * u;
      u = (double)x3[k] - ck; s3 += u * u;
    }
    if (s0 > best) best = s0;
    if (s1 > best) best = s1;
    if (s2 > best) best = s2;
    if (s3 > best) best = s3;
  }
  for (; t < n; t++) {
    const float *x = data + (size_t)rows[t] * dim;
    double s = 0;
    for (int32_t k = 0; k < dim; k++) {
      const double u = (double)x[k] - c[k];
      s += u * u;
    }
    if (s > best) best = s;
  }
  napi_value result;
  napi_create_double(env, best, &result);
  return result;
}

/*
 * extremedot(data: Float32Array, dim, rows: Int32Array, w: Float64Array, wantMin: boolean, start, stop) -> number
 *   The smallest (wantMin) or largest of start and every row rows[t] . w, each summed by dot4 (four
 *   accumulators: a quarter of the dependent additions of one), compared as matrix.ts's extremeProjection does;
 *   returned early, in the row order, once it is <= stop (wantMin) or >= stop. Long row lists in parallel parts
 *   (the value is the single loop's).
 */
typedef struct {
  const float *data;
  const int32_t *rows;
  const double *w;
  int32_t dim;
  bool wantMin;
  double start, stop;
  double best[PAR_MAX];
} ExtremeCtx;

/* One part's extreme, from `start` for part 0 and from infinity for the others, up to its first row reaching stop. */
static void extremePart(void *arg, int32_t part, size_t from, size_t to) {
  ExtremeCtx *c = (ExtremeCtx *)arg;
  const double best = part == 0 ? c->start : (c->wantMin ? INFINITY : -INFINITY);
  c->best[part] = extremeOf(c->data, c->rows, from, to, c->dim, c->w, c->wantMin, best, c->stop);
}

static napi_value extremedot(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.extremedot";
  FtgeoArg arg[7];
  if (!kernelArgs(env, info, kernel, "fzidbnn", arg) || !rows_fit(env, kernel, arg)) return NULL;
  float *data = arg[0].f32;
  int32_t dim = arg[1].integer, *rows = arg[2].i32;
  size_t n = arg[2].len;
  ExtremeCtx ctx = {data, rows, arg[3].f64, dim, arg[4].boolean, arg[5].number, arg[6].number, {0}};
  const int32_t parts = parFor(n, ROWS_PART_MIN, extremePart, &ctx);
  /* The single loop's answer from the parts': part 0 started from `start`; a later part matters only if no earlier
   * one reached stop, and then the single loop would have stopped exactly where that part did. */
  double best = ctx.best[0];
  for (int32_t i = 1; i < parts; i++) {
    if (ctx.wantMin ? best <= ctx.stop : best >= ctx.stop) break;
    if (ctx.wantMin ? ctx.best[i] < best : ctx.best[i] > best) best = ctx.best[i];
  }
  napi_value result;
  napi_create_double(env, best, &result);
  return result;
}

/*
 * extremebatch(data: Float32Array, dim, rows: Int32Array, ws: Float64Array[], k, wantMin: Int32Array, starts, stops, out)
 *   For each i < k, out[i] = extremedot(data, dim, rows, ws[i], wantMin[i] != 0, starts[i], stops[i]): the same rows
 *   against k vectors in one call (overlap.ts extends a cluster's hyperplanes to thousands of other clusters per
 *   merge, each projecting the same few rows, where a call per vector cost more than its work; the vectors are read
 *   where they are, as copying them into one array cost more again). Each extreme is one loop in row order (the
 *   single extremedot's value); vectors are split into parts on threads.
 */
typedef struct {
  const float *data;
  const int32_t *rows;
  const double *const *W;
  const double *starts, *stops;
  const int32_t *wantMin;
  double *out;
  size_t nrows;
  int32_t dim;
} ExtremeBatchCtx;

/* The vectors lie wherever their hyperplanes were made: most of the time goes to fetching them from memory, so the
 * next vectors' lines are requested while the current ones are used. */
static inline void prefetchVectors(const ExtremeBatchCtx *c, size_t i, size_t to, int32_t dim) {
  for (size_t j = i; j < i + 4 && j < to; j++) {
    const char *w = (const char *)c->W[j];
    for (size_t b = 0; b < (size_t)dim * sizeof(double); b += 64) __builtin_prefetch(w + b);
  }
}

static void extremeBatchPart(void *arg, int32_t part, size_t from, size_t to) {
  (void)part;
  const ExtremeBatchCtx *c = (const ExtremeBatchCtx *)arg;
  const int32_t dim = c->dim;
  size_t i = from;
  prefetchVectors(c, i, to, dim);
  if (c->nrows < 4) {
    /* Few rows (a small cluster extended to many others): four vectors at a time on each row, in row order. */
    for (; i + 4 <= to; i += 4) {
      prefetchVectors(c, i + 4, to, dim);
      double best[4];
      int stopped[4];
      const double *const y[4] = {c->W[i], c->W[i + 1], c->W[i + 2], c->W[i + 3]};
      for (int j = 0; j < 4; j++) {
        best[j] = c->starts[i + j];
        stopped[j] = 0;
      }
      for (size_t t = 0; t < c->nrows; t++) {
        const float *row = c->data + (size_t)c->rows[t] * dim;
        const float *const x[4] = {row, row, row, row};
        double v[4];
        dot4x4(x, y, dim, v);
        for (int j = 0; j < 4; j++) {
          if (!stopped[j]) stopped[j] = extremeStep(c->wantMin[i + j], v[j], c->stops[i + j], &best[j]);
        }
      }
      for (int j = 0; j < 4; j++) c->out[i + j] = best[j];
    }
  }
  for (; i < to; i++) {
    if ((i - from) % 4 == 0) prefetchVectors(c, i + 4, to, dim);
    c->out[i] = extremeOf(c->data, c->rows, 0, c->nrows, dim, c->W[i], c->wantMin[i], c->starts[i], c->stops[i]);
  }
}

static napi_value extremebatch(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.extremebatch";
  FtgeoArg arg[9];
  if (!kernelArgs(env, info, kernel, "fziaziddd", arg) || !rows_inside(env, kernel, arg)) return NULL;
  const int32_t dim = arg[1].integer, k = arg[4].integer;
  if (!fitsFor(env, k >= 0 && arg[3].len >= (size_t)k, kernel, "ws needs k vectors")) return NULL;
  const size_t n = (size_t)k;
  if (!fitsFor(env, arg[5].len >= n && arg[6].len >= n && arg[7].len >= n && arg[8].len >= n, kernel,
               "wantMin, starts, stops and out need k values each")) return NULL;
  /* The vectors' data, read here (N-API is for this thread only) before the parts run. */
  const double *local[256];
  const double **W = n <= 256 ? local : (const double **)malloc(n * sizeof *W);
  if (!W) {
    napi_throw_error(env, NULL, "ftgeo_dist.extremebatch: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    napi_value v;
    size_t len = 0;
    const double *w = NULL;
    if (napi_get_element(env, arg[3].value, (uint32_t)i, &v) == napi_ok) w = (const double *)typedArray(env, v, napi_float64_array, &len, "ftgeo_dist.extremebatch: ws must hold Float64Arrays");
    if (!w || !fitsFor(env, len >= (size_t)dim, kernel, "every vector of ws needs dim values")) {
      if (W != local) free(W);
      return NULL;
    }
    W[i] = w;
  }
  ExtremeBatchCtx ctx = {arg[0].f32, arg[2].i32, W, arg[6].f64, arg[7].f64, arg[5].i32, arg[8].f64, arg[2].len, dim};
  /* A part of at least 2 * ROWS_PART_MIN row products (about 100 us) is worth a thread. */
  const size_t perVector = arg[2].len > 0 ? arg[2].len : 1;
  parFor(n, (2 * ROWS_PART_MIN + perVector - 1) / perVector, extremeBatchPart, &ctx);
  if (W != local) free(W);
  return NULL;
}

/*
 * blockscan(centres, radii, labels, proj, norms, size, dim, nd, stride, c, rc, label, pc, nc, outSlot, outCd2, counts,
 *           resids, rcRes, bLo, bHi, bRad, bNorm, bLive, bLabel, labelCap, block) -> n
 *   overlap.ts's scanPool loop up to the distance test: for every slot s < size whose label is neither `label` nor
 *   negative (a dead slot), first the projection filter (the sum over j in order of (|pc[j] - proj[j*stride + s]| -
 *   1e-12 (nc + norms[s]))^2, terms below 0 left out, then the residual norms' term (|rcRes - resids[s]| - 1e-10 (nc +
 *   norms[s]))^2 if still needed; above (rc + r_s)^2 (1 + 1e-7): skipped), then the squared
 *   distance of c and centre s summed in coordinate order in blocks of 32, abandoned when a block ends above (rc +
 *   r_s)^2 (1 + 1e-9) + 1e-300 (skipped). The slots that remain and their squared distances go to outSlot[0..n),
 *   outCd2[0..n); counts[0..3) += the slots tested, skipped by the distance and skipped by the projections. Same
 *   expressions, same order, so the same doubles and decisions as the JS loop. The projections are direction-major
 *   (each direction's values for all slots together, rows of `stride` >= size values): the filter, which most slots
 *   leave after one or two directions, then reads 8 bytes per slot and direction instead of a slot's whole row, and
 *   with AVX2 tests four consecutive slots per instruction.
 *
 *   Slots come in blocks of `block` (a multiple of 4): block b holds slots [b block, (b + 1) block), of which bLive[b]
 *   are live, bLabel[b labelCap + l] of label l, all with first projections in [bLo[b], bHi[b]], radii <= bRad[b] and
 *   norms <= bNorm[b]. A block whose first-projection range is farther from pc[0] than the filter's first term can
 *   be for every slot there (t = the distance to the range - 1e-12 (nc + bNorm[b]) > 0 and t^2 > (rc + bRad[b])^2 (1
 *   + 1e-7): each slot's first term is at least t^2, by the monotone rounding of every operation, and its bound at
 *   most the block's) is skipped as a whole, its live slots of other labels counted as tested and skipped by the
 *   projections: the counts and the output of the slot-by-slot loop. Large pools are split into parts scanned on
 *   threads (threads()), each taking runs of CHUNK_BLOCKS blocks dealt round-robin; their outputs are joined part after
 *   part: the slots and squared distances of one loop, in another order (the caller sorts its candidates).
 */
/* Slots per part of blockscan: a part of at least 4,096 slots (about 50 us of work) is worth a thread. */
#define SCAN_PART_MIN 4096

/* blockscan's inputs, and per part: where its output starts (off, from) and how long it is, and its counts. */
typedef struct {
  const double *centres, *radii, *proj, *norms, *c, *pc;
  const int32_t *labels;
  int32_t dim, nd, label;
  size_t stride;
  double rc, nc;
  int32_t *outSlot;
  double *outCd2;
  /* Each slot's residual norm outside the directions' span, and the query's (the filter's last term). */
  const double *resids;
  double rcRes;
  /* The blocks (see blockscan). */
  const double *bLo, *bHi, *bRad, *bNorm;
  const int32_t *bLive, *bLabel;
  int32_t labelCap, block;
  size_t size;
  /* Runs of CHUNK_BLOCKS blocks dealt round-robin to `parts` parts (see scanPart); part p's output starts at off[p]. */
  size_t nb, nchunks;
  int32_t parts;
  size_t off[PAR_MAX];
  size_t from[PAR_MAX];
  int32_t n[PAR_MAX];
  double checks[PAR_MAX], skips[PAR_MAX], projSkips[PAR_MAX];
} ScanCtx;

/* The slots of a part that pass the projection filter wait in a batch of up to SCAN_BATCH; their distances are then
 * summed block by block (32 coordinates), four slots at a time in one loop: each slot's sum is still one accumulator over
 * the coordinates in order (the same doubles as one slot at a time), but four independent chains keep the adder
 * busy where one chain waits on each addition. A slot leaves the batch at the end of the block where its partial
 * sum passes its limit, as in the one-slot loop; the survivors keep their slot order. */
#define SCAN_BATCH 16
typedef struct {
  int32_t slot[SCAN_BATCH];
  double cd2[SCAN_BATCH], limit[SCAN_BATCH];
  int32_t n;
  /* The query's centre, the pool's centres, and the part's output: slots kept (out of them so far) and skipped. */
  const double *c, *centres;
  int32_t dim;
  int32_t *outSlot;
  double *outCd2;
  int32_t out;
  double skips;
} ScanBatch;

/* Sums the batch's distances, drops the far slots (counted in skips) and appends the rest to the output. */
static void scanFlush(ScanBatch *b) {
  const double *c = b->c, *centres = b->centres;
  const int32_t dim = b->dim;
  int32_t na = b->n;
  for (int32_t k0 = 0; k0 < dim && na > 0; k0 += 32) {
    const int32_t end = k0 + 32 < dim ? k0 + 32 : dim;
    /* The next block of every slot still in the batch is requested now, to arrive while this block is summed. */
    if (end < dim)
      for (int32_t i = 0; i < na; i++) {
        const double *x = centres + (size_t)b->slot[i] * dim + end;
        for (int32_t k = 0; k < 32 && end + k < dim; k += 8) __builtin_prefetch(x + k);
      }
    int32_t i = 0;
    for (; i + 4 <= na; i += 4) {
      const double *x0 = centres + (size_t)b->slot[i] * dim, *x1 = centres + (size_t)b->slot[i + 1] * dim;
      const double *x2 = centres + (size_t)b->slot[i + 2] * dim, *x3 = centres + (size_t)b->slot[i + 3] * dim;
      double s0 = b->cd2[i], s1 = b->cd2[i + 1], s2 = b->cd2[i + 2], s3 = b->cd2[i + 3];
      for (int32_t k = k0; k < end; k++) {
        const double ck = c[k];
        double t;
        t = ck - x0[k]; s0 += t * t;
        t = ck - x1[k]; s1 += t * t;
        t = ck - x2[k]; s2 += t * t;
        t = ck - x3[k]; s3 += t * t;
      }
      b->cd2[i] = s0; b->cd2[i + 1] = s1; b->cd2[i + 2] = s2; b->cd2[i + 3] = s3;
    }
    for (; i < na; i++) {
      const double *x = centres + (size_t)b->slot[i] * dim;
      double s = b->cd2[i];
      for (int32_t k = k0; k < end; k++) {
        const double t = c[k] - x[k];
        s += t * t;
      }
      b->cd2[i] = s;
    }
    int32_t kept = 0;
    for (i = 0; i < na; i++) {
      if (b->cd2[i] > b->limit[i]) {
        b->skips++;
        continue;
      }
      b->slot[kept] = b->slot[i];
      b->cd2[kept] = b->cd2[i];
      b->limit[kept] = b->limit[i];
      kept++;
    }
    na = kept;
  }
  for (int32_t i = 0; i < na; i++) {
    b->outSlot[b->out] = b->slot[i];
    b->outCd2[b->out] = b->cd2[i];
    b->out++;
  }
  b->n = 0;
}

/* Appends slot s (projection filter passed) to the distance batch; flushes a full batch. */
static inline void scanQueue(ScanBatch *b, int32_t s, double reach) {
  /* The slots queued lie anywhere in the pool: their first block is requested here, used at the flush. */
  const double *x = b->centres + (size_t)s * b->dim;
  for (int32_t k = 0; k < 32 && k < b->dim; k += 8) __builtin_prefetch(x + k);
  b->slot[b->n] = s;
  b->cd2[b->n] = 0;
  b->limit[b->n] = reach * reach * (1 + 1e-9) + 1e-300;
  if (++b->n == SCAN_BATCH) scanFlush(b);
}

/* The projection filter of slot s (projections direction-major, row stride `stride`; then the residual norms'
 * term, as overlap.ts's projectionsApart): true if it proves the spheres apart (skip). */
static inline int scanApart1(const double *proj, size_t stride, const double *norms, const double *pc, int32_t nd, double nc, int32_t s, double reach,
                             const double *resids, double rcRes) {
  const double delta = 1e-12 * (nc + norms[s]);
  const double enough = reach * reach * (1 + 1e-7);
  double low2 = 0;
  for (int32_t j = 0; j < nd && low2 <= enough; j++) {
    const double t = fabs(pc[j] - proj[(size_t)j * stride + s]) - delta;
    if (t > 0) low2 += t * t;
  }
  if (low2 <= enough) {
    const double t = fabs(rcRes - resids[s]) - 1e-10 * (nc + norms[s]);
    if (t > 0) low2 += t * t;
  }
  return low2 > enough;
}

/*
 * The slots [from, to) of one block. With AVX2 the projection filter runs on four consecutive slots at once, one
 * lane per slot, each lane's sum over the directions in order (the one-slot loop's doubles); a lane keeps adding
 * terms after its sum has passed its bound until all four have, which cannot bring it back below (the terms are
 * not negative): the same decisions as the one-slot loop, which stops there.
 */
static void scanSlots(const ScanCtx *q, ScanBatch *batch, size_t from, size_t to, double *checksOut, double *projSkipsOut) {
  const double *radii = q->radii, *proj = q->proj, *norms = q->norms, *pc = q->pc;
  const int32_t *labels = q->labels, nd = q->nd, label = q->label;
  const size_t stride = q->stride;
  const double rc = q->rc, nc = q->nc;
  double checks = 0, projSkips = 0;
  size_t s = from;
#ifdef __AVX2__
  if (nd > 0) {
    const __m256d absMask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d zero = _mm256_setzero_pd(), vrc = _mm256_set1_pd(rc), vnc = _mm256_set1_pd(nc);
    const __m256d grow = _mm256_set1_pd(1 + 1e-7), tiny = _mm256_set1_pd(1e-12);
    const __m256d vres = _mm256_set1_pd(q->rcRes), resTiny = _mm256_set1_pd(1e-10);
    for (; s + 4 <= to; s += 4) {
      int same = 0;
      for (int l = 0; l < 4; l++) same |= (labels[s + l] == label || labels[s + l] < 0) << l;
      if (same == 15) continue;
      const __m256d reach = _mm256_add_pd(vrc, _mm256_loadu_pd(radii + s));
      const __m256d enough = _mm256_mul_pd(_mm256_mul_pd(reach, reach), grow);
      const __m256d delta = _mm256_mul_pd(tiny, _mm256_add_pd(vnc, _mm256_loadu_pd(norms + s)));
      __m256d low2 = zero;
      int over = 0;
      for (int32_t j = 0; j < nd; j++) {
        const __m256d p = _mm256_loadu_pd(proj + (size_t)j * stride + s);
        __m256d t = _mm256_sub_pd(_mm256_and_pd(_mm256_sub_pd(_mm256_set1_pd(pc[j]), p), absMask), delta);
        t = _mm256_max_pd(t, zero);
        low2 = _mm256_add_pd(low2, _mm256_mul_pd(t, t));
        over = _mm256_movemask_pd(_mm256_cmp_pd(low2, enough, _CMP_GT_OQ));
        if ((over | same) == 15) break;
      }
      if ((over | same) != 15) {
        /* The residual norms' term, last, for the lanes not yet over (the others are past their bound already). */
        const __m256d res = _mm256_sub_pd(_mm256_and_pd(_mm256_sub_pd(vres, _mm256_loadu_pd(q->resids + s)), absMask),
                                          _mm256_mul_pd(resTiny, _mm256_add_pd(vnc, _mm256_loadu_pd(norms + s))));
        const __m256d t = _mm256_max_pd(res, zero);
        const __m256d notOver = _mm256_cmp_pd(low2, enough, _CMP_LE_OQ);
        low2 = _mm256_add_pd(low2, _mm256_and_pd(notOver, _mm256_mul_pd(t, t)));
        over = _mm256_movemask_pd(_mm256_cmp_pd(low2, enough, _CMP_GT_OQ));
      }
      double r[4];
      _mm256_storeu_pd(r, reach);
      for (int l = 0; l < 4; l++) {
        if (same >> l & 1) continue;
        checks++;
        if (over >> l & 1) projSkips++;
        else scanQueue(batch, (int32_t)(s + l), r[l]);
      }
    }
  }
#endif
  for (; s < to; s++) {
    if (labels[s] == label || labels[s] < 0) continue;
    checks++;
    const double reach = rc + radii[s];
    if (nd > 0 && scanApart1(proj, stride, norms, pc, nd, nc, (int32_t)s, reach, q->resids, q->rcRes)) projSkips++;
    else scanQueue(batch, (int32_t)s, reach);
  }
  *checksOut += checks;
  *projSkipsOut += projSkips;
}

/* Blocks per run dealt to the parts: 8 blocks of 64 slots, small enough to spread the blocks near the query (which
 * the pool's first-projection order puts together) over the parts. */
#define CHUNK_BLOCKS 8

/*
 * Part `part` of `parts`: the runs of blocks part, part + parts, ... (whole blocks ruled out by their bounds, the others
 * slot by slot), its output from off[part] on. The parts' outputs are joined part after part: the slots that remain,
 * with the same squared distances as the single loop's, in another order (the caller sorts its candidates).
 */
static void scanPart(void *arg, int32_t part, size_t from, size_t to) {
  (void)from;
  (void)to;
  ScanCtx *q = (ScanCtx *)arg;
  const size_t bs = (size_t)q->block, size = q->size;
  const int32_t label = q->label, labelCap = q->labelCap;
  const double rc = q->rc, nc = q->nc;
  double checks = 0, projSkips = 0;
  const size_t first = q->off[part];
  ScanBatch batch = {.n = 0, .c = q->c, .centres = q->centres, .dim = q->dim, .outSlot = q->outSlot + first, .outCd2 = q->outCd2 + first, .out = 0, .skips = 0};
  for (size_t ch = (size_t)part; ch < q->nchunks; ch += (size_t)q->parts) {
    const size_t bEnd = (ch + 1) * CHUNK_BLOCKS < q->nb ? (ch + 1) * CHUNK_BLOCKS : q->nb;
    for (size_t b = ch * CHUNK_BLOCKS; b < bEnd; b++) {
      const int32_t live = q->bLive[b];
      if (live <= 0) continue;
      if (q->nd > 0) {
        const double p0 = q->pc[0];
        const double gap = q->bLo[b] - p0 > p0 - q->bHi[b] ? q->bLo[b] - p0 : p0 - q->bHi[b];
        const double t = gap - 1e-12 * (nc + q->bNorm[b]);
        const double reach = rc + q->bRad[b];
        if (t > 0 && t * t > reach * reach * (1 + 1e-7)) {
          const int32_t others = live - (label >= 0 && label < labelCap ? q->bLabel[b * (size_t)labelCap + label] : 0);
          checks += others;
          projSkips += others;
          continue;
        }
      }
      const size_t s0 = b * bs, s1 = s0 + bs < size ? s0 + bs : size;
      scanSlots(q, &batch, s0, s1, &checks, &projSkips);
    }
  }
  if (batch.n > 0) scanFlush(&batch);
  q->from[part] = first;
  q->n[part] = batch.out;
  q->checks[part] = checks;
  q->skips[part] = batch.skips;
  q->projSkips[part] = projSkips;
}

static napi_value blockscan(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.blockscan";
  FtgeoArg arg[27];
  if (!kernelArgs(env, info, kernel, "ddiddzzzzdnzdnidddnddddiizz", arg)) return NULL;
  double *centres = arg[0].f64, *radii = arg[1].f64, *proj = arg[3].f64, *norms = arg[4].f64, *c = arg[9].f64, *pc = arg[12].f64;
  double *outCd2 = arg[15].f64, *counts = arg[16].f64, rc = arg[10].number, nc = arg[13].number;
  int32_t *labels = arg[2].i32, *outSlot = arg[14].i32, size = arg[5].integer, dim = arg[6].integer, nd = arg[7].integer, label = arg[11].integer;
  const int32_t strideArg = arg[8].integer, labelCap = arg[25].integer, block = arg[26].integer;
  size_t lc = arg[0].len, lr = arg[1].len, ll = arg[2].len, lp = arg[3].len, ln = arg[4].len, lcc = arg[9].len, lpc = arg[12].len;
  size_t los = arg[14].len, lod = arg[15].len, lcn = arg[16].len;
  if (!fitsFor(env, !(size < 0 || dim <= 0 || nd < 0 || strideArg < size || (size_t)size * dim > lc || (size_t)size > lr || (size_t)size > ll ||
                      (size_t)strideArg * nd > lp || (size_t)size > ln || (size_t)dim > lcc || (size_t)nd > lpc || (size_t)size > los ||
                      (size_t)size > lod || lcn < 3),
               kernel, "an array is shorter than size, dim, nd or stride require (or stride < size)"))
    return NULL;
  const size_t nb = block > 0 ? ((size_t)size + block - 1) / block : 0;
  if (!fitsFor(env, arg[17].len >= (size_t)size, kernel, "resids needs a value per slot")) return NULL;
  if (!fitsFor(env, block > 0 && block % 4 == 0 && labelCap >= 0 && arg[19].len >= nb && arg[20].len >= nb && arg[21].len >= nb && arg[22].len >= nb &&
                        arg[23].len >= nb && arg[24].len >= nb * (size_t)labelCap,
               kernel, "block a positive multiple of 4, and bLo, bHi, bRad, bNorm, bLive a value per block (bLabel labelCap per block)"))
    return NULL;
  const size_t stride = (size_t)strideArg;
  ScanCtx q = {centres, radii, proj, norms, c, pc, labels, dim, nd, label, stride, rc, nc, outSlot, outCd2, arg[17].f64, arg[18].number,
               arg[19].f64, arg[20].f64, arg[21].f64, arg[22].f64, arg[23].i32, arg[24].i32, labelCap, block, (size_t)size,
               nb, (nb + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS, 1, {0}, {0}, {0}, {0}, {0}, {0}};
  /* As many parts as parFor would make of the slots, each a run of whole chunks dealt round-robin; part p writes its
   * output after the slots of the parts before it (at most its own slots: the parts never overlap). */
  const size_t want = (size_t)size / SCAN_PART_MIN;
  q.parts = want < (size_t)parThreads ? (want < 1 ? 1 : (int32_t)want) : parThreads;
  if ((size_t)q.parts > q.nchunks && q.nchunks > 0) q.parts = (int32_t)q.nchunks;
  size_t offset = 0;
  for (int32_t p = 0; p < q.parts; p++) {
    q.off[p] = offset;
    for (size_t ch = (size_t)p; ch < q.nchunks; ch += (size_t)q.parts) {
      const size_t s0 = ch * CHUNK_BLOCKS * (size_t)block, s1 = s0 + CHUNK_BLOCKS * (size_t)block;
      offset += (s1 < (size_t)size ? s1 : (size_t)size) - s0;
    }
  }
  const int32_t parts = parForUpTo((size_t)q.parts, 1, q.parts, scanPart, &q);
  const int32_t n = joinParts(parts, q.from, q.n, outSlot, outCd2);
  double checks = q.checks[0], skips = q.skips[0], projSkips = q.projSkips[0];
  for (int32_t i = 1; i < parts; i++) {
    checks += q.checks[i];
    skips += q.skips[i];
    projSkips += q.projSkips[i];
  }
  counts[0] += checks;
  counts[1] += skips;
  counts[2] += projSkips;
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

/* threads(n?) -> the number of threads the parallel kernels may use (sets it first when n is given, 1..8). */
static napi_value threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) {
    int32_t t = 0;
    if (napi_get_value_int32(env, argv[0], &t) != napi_ok || t < 1 || t > PAR_MAX) {
      napi_throw_range_error(env, NULL, "ftgeo_dist.threads: expected an integer from 1 to 8");
      return NULL;
    }
    parThreads = t;
  }
  napi_value result;
  napi_create_int32(env, parThreads, &result);
  return result;
}

/*
 * ivfilter(iv, D, labels, radii, slots, cd2s, n, civ, rc, firstDir, tol, err) -> kept
 *   intervals.ts's ProjectionIntervals.apart over blockscan's output: slot s = slots[i] (at squared centre distance
 *   cd2s[i]) is dropped when on some direction j (firstDir[labels[s]] first when that is a direction, then the others
 *   in order) its interval [iv[s*2D + j], iv[s*2D + D + j]] and c's [civ[j], civ[D + j]] are apart by more than
 *   tol (sqrt(cd2s[i]) + rc + radii[s]) (1 + 1e-9) + 2 err; slots whose spheres do not meet (sqrt(cd2s[i]) - rc -
 *   radii[s] >= 0) are kept, for the caller's sphere test. The slots kept are compacted in order in slots and cd2s.
 *   Same expressions as the JS test, so the same answers; long lists in consecutive parts on threads, joined in order.
 */
/* Slots per part of ivfilter: about 100 ns each (a slot's intervals are 2 D doubles, 2 KB on POS), 512 are worth a thread. */
#define IV_PART_MIN 512

typedef struct {
  const double *iv, *radii, *civ;
  const int32_t *labels, *firstDir;
  int32_t *slots;
  double *cd2s;
  int32_t D;
  size_t lfd;
  double rc, tol, err;
  size_t from[PAR_MAX];
  int32_t kept[PAR_MAX];
} IvCtx;

/* The test of slot i (of the caller's list): 1 if its intervals and c's are apart on some direction. */
static inline int ivApart(const IvCtx *q, int32_t i) {
  const int32_t s = q->slots[i], D = q->D;
  const double cd = sqrt(q->cd2s[i]);
  // Spheres that do not meet are consider's to count as skipped: kept without the test.
  if (!(cd - q->rc - q->radii[s] < 0)) return 0;
  const double need = q->tol * (cd + q->rc + q->radii[s]) * (1 + 1e-9) + 2 * q->err;
  const double *x = q->iv + (size_t)s * 2 * D, *civ = q->civ;
  const int32_t l = q->labels[s];
  const int32_t first = l >= 0 && (size_t)l < q->lfd ? q->firstDir[l] : -1;
  if (first >= 0 && first < D && (x[first] - civ[D + first] > need || civ[first] - x[D + first] > need)) return 1;
  for (int32_t j = 0; j < D; j++) {
    if (j == first) continue;
    if (x[j] - civ[D + j] > need || civ[j] - x[D + j] > need) return 1;
  }
  return 0;
}

/* A part [from, to) of the list, compacted within itself (parts never write outside their own range). */
static void ivPart(void *arg, int32_t part, size_t from, size_t to) {
  IvCtx *q = (IvCtx *)arg;
  const int32_t D = q->D;
  size_t kept = from;
  for (size_t i = from; i < to; i++) {
    // The slots' intervals are far apart in memory: ask for the ones of the slot four places on (its first direction
    // and the start of both bounds) while this one is tested.
    if (i + 4 < to) {
      const double *x = q->iv + (size_t)q->slots[i + 4] * 2 * D;
      __builtin_prefetch(x);
      __builtin_prefetch(x + D);
    }
    if (ivApart(q, (int32_t)i)) continue;
    q->slots[kept] = q->slots[i];
    q->cd2s[kept] = q->cd2s[i];
    kept++;
  }
  q->from[part] = from;
  q->kept[part] = (int32_t)(kept - from);
}

static napi_value ivfilter(napi_env env, napi_callback_info info) {
  FtgeoArg arg[12];
  if (!kernelArgs(env, info, "ftgeo_dist.ivfilter", "dzididzdninn", arg)) return NULL;
  double *iv = arg[0].f64, *radii = arg[3].f64, *cd2s = arg[5].f64, *civ = arg[7].f64, rc = arg[8].number, tol = arg[10].number, err = arg[11].number;
  int32_t *labels = arg[2].i32, *slots = arg[4].i32, *firstDir = arg[9].i32, D = arg[1].integer, n = arg[6].integer;
  size_t liv = arg[0].len, ll = arg[2].len, lr = arg[3].len, lfd = arg[9].len;
  if (!fitsFor(env, !(D < 0 || n < 0 || (size_t)n > arg[4].len || (size_t)n > arg[5].len || (size_t)2 * D > arg[7].len),
               "ftgeo_dist.ivfilter", "an array is shorter than n or 2 D require"))
    return NULL;
  for (int32_t i = 0; i < n; i++) {
    const int32_t s = slots[i];
    if (s < 0 || (size_t)s >= ll || (size_t)s >= lr || ((size_t)s + 1) * 2 * D > liv) {
      napi_throw_range_error(env, NULL, "ftgeo_dist.ivfilter: a slot is outside labels, radii or iv");
      return NULL;
    }
  }
  IvCtx q = {iv, radii, civ, labels, firstDir, slots, cd2s, D, lfd, rc, tol, err, {0}, {0}};
  const int32_t parts = parFor((size_t)n, IV_PART_MIN, ivPart, &q);
  const int32_t kept = joinParts(parts, q.from, q.kept, slots, cd2s);
  napi_value result;
  napi_create_int32(env, kept, &result);
  return result;
}

/*
 * corraladd(flat, k, dim, x, sides, side, lift, R, cap, r) -> rr
 *   corral.ts's Corral.add up to the pivot: r[i] = the lifted product of x with member i (flat row i; even
 *   coordinates into s0, odd into s1, the odd tail into s0; ((s0 + s1) * side) * sides[i], plus lift on the same
 *   side), then the forward substitution R' r = h in place (R upper triangular, row stride cap) and rr = r.r, in
 *   the JS loop's order.
 */
static napi_value corraladd(napi_env env, napi_callback_info info) {
  FtgeoArg arg[10];
  if (!kernelArgs(env, info, "ftgeo_dist.corraladd", "dzzdizndzd", arg)) return NULL;
  double *flat = arg[0].f64, *x = arg[3].f64, *R = arg[7].f64, *r = arg[9].f64, lift = arg[6].number;
  int32_t *sides = arg[4].i32, k = arg[1].integer, dim = arg[2].integer, side = arg[5].integer, cap = arg[8].integer;
  size_t lf = arg[0].len, lx = arg[3].len, ls = arg[4].len, lR = arg[7].len, lr = arg[9].len;
  if (!fitsFor(env, !(k < 0 || dim <= 0 || cap < k || (size_t)k * dim > lf || (size_t)dim > lx || (size_t)k > ls || (size_t)cap * cap > lR || (size_t)k > lr),
               "ftgeo_dist.corraladd", "an array is shorter than k, dim or cap require"))
    return NULL;
  int32_t i = 0;
#ifdef __SSE2__
  /* Four members at a time: each member's (s0, s1) are the two lanes of one register, so its sums are the loop's
   * below (same order), and the four registers are independent chains. */
  for (; i + 4 <= k; i += 4) {
    const double *y0 = flat + (size_t)i * dim, *y1 = y0 + dim, *y2 = y1 + dim, *y3 = y2 + dim;
    __m128d a0 = _mm_setzero_pd(), a1 = _mm_setzero_pd(), a2 = _mm_setzero_pd(), a3 = _mm_setzero_pd();
    int32_t t = 0;
    for (; t + 1 < dim; t += 2) {
      const __m128d xt = _mm_loadu_pd(x + t);
      a0 = _mm_add_pd(a0, _mm_mul_pd(xt, _mm_loadu_pd(y0 + t)));
      a1 = _mm_add_pd(a1, _mm_mul_pd(xt, _mm_loadu_pd(y1 + t)));
      a2 = _mm_add_pd(a2, _mm_mul_pd(xt, _mm_loadu_pd(y2 + t)));
      a3 = _mm_add_pd(a3, _mm_mul_pd(xt, _mm_loadu_pd(y3 + t)));
    }
    double lane[4][2];
    _mm_storeu_pd(lane[0], a0);
    _mm_storeu_pd(lane[1], a1);
    _mm_storeu_pd(lane[2], a2);
    _mm_storeu_pd(lane[3], a3);
    const double *ys[4] = {y0, y1, y2, y3};
    for (int32_t j = 0; j < 4; j++) {
      double s0 = lane[j][0];
      if (t < dim) s0 += x[t] * ys[j][t];
      const double d = (s0 + lane[j][1]) * side * sides[i + j];
      r[i + j] = side == sides[i + j] ? d + lift : d;
    }
  }
#endif
  for (; i < k; i++) {
    const double *y = flat + (size_t)i * dim;
    double s0 = 0, s1 = 0;
    int32_t t = 0;
    for (; t + 1 < dim; t += 2) {
      s0 += x[t] * y[t];
      s1 += x[t + 1] * y[t + 1];
    }
    if (t < dim) s0 += x[t] * y[t];
    const double d = (s0 + s1) * side * sides[i];
    r[i] = side == sides[i] ? d + lift : d;
  }
  double rr = 0;
  for (int32_t j = 0; j < k; j++) {
    const double v = r[j] / R[(size_t)j * cap + j];
    r[j] = v;
    rr += v * v;
    const double *row = R + (size_t)j * cap;
    for (int32_t i = j + 1; i < k; i++) r[i] -= row[i] * v;
  }
  napi_value result;
  napi_create_double(env, rr, &result);
  return result;
}

/*
 * addrows(data: Float32Array, dim, rows: Int32Array, sum: Float64Array)
 *   sum[k] += each row's x_k, rows in order (overlap.ts geomOf's row sum: every coordinate is its own chain of
 *   double additions in the same order, so the same doubles, whatever the vector lanes).
 */
static napi_value addrows(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.addrows";
  FtgeoArg arg[4];
  if (!kernelArgs(env, info, kernel, "fzid", arg) || !rows_fit(env, kernel, arg)) return NULL;
  const float *data = arg[0].f32;
  const int32_t dim = arg[1].integer, *rows = arg[2].i32;
  const size_t n = arg[2].len;
  double *sum = arg[3].f64;
  for (size_t t = 0; t < n; t++) {
    if (t + 4 < n) __builtin_prefetch(data + (size_t)rows[t + 4] * dim);
    const float *x = data + (size_t)rows[t] * dim;
    for (int32_t k = 0; k < dim; k++) sum[k] += (double)x[k];
  }
  return NULL;
}

/*
 * sqdevsum(data: Float32Array, dim, rows: Int32Array, shift: Float64Array, start) -> start + the sum over the rows, in
 *   order, and their coordinates, in order, of (x_k - shift_k)^2, in one accumulator (corral.ts's lift constant).
 */
static napi_value sqdevsum(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.sqdevsum";
  FtgeoArg arg[5];
  if (!kernelArgs(env, info, kernel, "fzidn", arg) || !rows_fit(env, kernel, arg)) return NULL;
  float *data = arg[0].f32;
  int32_t dim = arg[1].integer, *rows = arg[2].i32;
  size_t n = arg[2].len;
  double *shift = arg[3].f64, acc = arg[4].number;
  for (size_t t = 0; t < n; t++) {
    const float *x = data + (size_t)rows[t] * dim;
    for (int32_t k = 0; k < dim; k++) {
      const double d = (double)x[k] - shift[k];
      acc += d * d;
    }
  }
  napi_value result;
  napi_create_double(env, acc, &result);
  return result;
}

/*
 * combine(dataA: Float32Array, dataB: Float32Array, dim, rows: Int32Array, weights: Float64Array, sides: Int32Array,
 *         p: Float64Array, q: Float64Array)
 *   corral.ts's nearest points from convex weights: for i in order, p (sides[i] > 0, row rows[i] of dataA) or q (of
 *   dataB) += weights[i] * row, coordinate by coordinate (p and q are not cleared here).
 */
static napi_value combine(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.combine";
  FtgeoArg arg[8];
  if (!kernelArgs(env, info, kernel, "ffzididd", arg)) return NULL;
  float *dataA = arg[0].f32, *dataB = arg[1].f32;
  int32_t dim = arg[2].integer, *rows = arg[3].i32, *sides = arg[5].i32;
  double *weights = arg[4].f64, *p = arg[6].f64, *q = arg[7].f64;
  size_t la = arg[0].len, lb = arg[1].len, lr = arg[3].len, lw = arg[4].len, ls = arg[5].len, lp = arg[6].len, lq = arg[7].len;
  if (!fitsFor(env, !(dim <= 0 || lw < lr || ls < lr || lp < (size_t)dim || lq < (size_t)dim), kernel,
               "weights and sides need one entry per row, p and q dim entries"))
    return NULL;
  for (size_t i = 0; i < lr; i++) {
    const size_t len = sides[i] > 0 ? la : lb;
    if (!fitsFor(env, !(rows[i] < 0 || ((size_t)rows[i] + 1) * (size_t)dim > len), kernel, "a row index is outside its matrix")) return NULL;
  }
  for (size_t i = 0; i < lr; i++) {
    const double w = weights[i];
    const float *x = (sides[i] > 0 ? dataA : dataB) + (size_t)rows[i] * dim;
    double *acc = sides[i] > 0 ? p : q;
    for (int32_t k = 0; k < dim; k++) acc[k] += w * x[k];
  }
  return NULL;
}

/* sqdists' sum for one pair of rows (even and odd coordinates in two accumulators, then added). */
static inline double sqdist1(const double *a, const double *b, int32_t dim) {
  double e = 0, o = 0;
  for (int32_t k = 0; k < dim; k += 2) {
    const double u = a[k] - b[k], v = a[k + 1] - b[k + 1];
    e += u * u;
    o += v * v;
  }
  return e + o;
}

/* farByEstimate's eight accumulators added up (a fixed order: the prefix and whole estimates add alike). */
static inline float sum8(const float acc[8]) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/*
 * mergescan's lower bound of the true distance from a float32 estimate S of the squared distance (see there), or
 * -1 when S decides nothing (overflow).
 */
static inline double lowFromEstimate(double est, double shrink, double shift, double norms) {
  if (!isfinite(est)) return -1;
  return sqrt(est * shrink) - shift * norms - 1e-17;
}

/*
 * True if the float32 estimate of |a - b|^2 (eight accumulators, any order: only an estimate, bounded below) proves
 * the distance above `lim` through lowFromEstimate. The estimate is tested after every 32 coordinates too: each
 * accumulator only grows (the terms are squares), so a prefix's estimate is at most the whole one, and it bounds
 * the prefix's distance, itself at most the whole distance, from below in the same way (the prefix's sum has fewer
 * terms to round, the rows' rounding is bounded by the same norms). A row proved far by a prefix is one the whole
 * estimate proves far too: the same rows are skipped, most after reading a quarter of them.
 */
static inline int farByEstimate(const float *a, const float *b, int32_t dim, double shrink, double shift, double norms, double lim) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t k = 0;
  for (; k + 8 <= dim; k += 8) {
    for (int32_t j = 0; j < 8; j++) {
      const float u = a[k + j] - b[k + j];
      acc[j] += u * u;
    }
    if (((k + 8) & 31) == 0 && k + 8 < dim) {
      const double low = lowFromEstimate((double)sum8(acc), shrink, shift, norms);
      if (low > 0 && low > lim) return 1;
    }
  }
  for (; k < dim; k++) acc[0] += (a[k] - b[k]) * (a[k] - b[k]);
  const double low = lowFromEstimate((double)sum8(acc), shrink, shift, norms);
  return low > 0 && low > lim;
}

/*
 * mergescan(cen, cen32, dim, q, list, len, norms, nnId, mind, radius, K, aId, bId, mode, mark, outPos, outD, threads) -> n
 *   agglomerate.ts's scan of a label's slots list[0..len) from slot q, computing the exact distance (sqdists' sum
 *   over cen) only where it can matter. The limit for slot x is the K-th smallest exact distance computed so far in
 *   this scan (topOffer's limit then; infinite before K), and in mode 0 (after a merge) also mind[x] and radius[x].
 *   x is skipped when the float32 estimate over cen32 (cen rounded to float) proves its distance above the limit:
 *   with S the estimate, sqrt(S / (1 + (dim/8 + 4) 2^-23)) - 1.01 * 2^-23 (|q| + |x|) (norms: the centroids' norms)
 *   - 1e-17 is a lower bound of the true distance (the rounding of the rows moves it by at most 2^-24 (|q| + |x|),
 *   the float sums by the relative factor, underflow by less than 1e-17), and it must exceed sqrt(limit) (1 + 1e-12);
 *   an estimate that overflowed decides nothing. Mode 0 first sets nnId[x] = -1
 *   where it is aId or bId, and never skips x with nnId[x] = -2; mode 1 (a rescan) leaves out slots with
 *   mark[x] != 0. The positions t and exact distances of the slots computed go to outPos[0..n), outD[0..n). Long
 *   lists are split into at most `threads` parts (and at most threads()) scanned on threads (mergePart), their
 *   outputs joined in list order.
 */
/* Slots per part of mergescan: a label list of at least 2 * 4,096 centroids (2 MB of float32 rows) is worth a thread. */
#define MERGE_PART_MIN 4096

typedef struct {
  const double *cen, *norms, *mind, *radius;
  const float *cen32;
  double *nnId, *outD;
  const int32_t *list, *mark;
  int32_t *outPos;
  int32_t dim, q, K, mode;
  double aId, bId;
  size_t from[PAR_MAX];
  int32_t n[PAR_MAX];
} MergeCtx;

/*
 * The list positions [from, to) of one part, with its own heap of the K smallest exact distances. A part's limits are
 * then never below the single loop's (its heap holds a subset of the distances computed before each slot), so it
 * computes every distance the single loop computes and maybe a few more; each extra one was provably above the
 * single loop's limit for its slot, so the caller's use of it changes nothing (agglomerate.ts's offer and rescan
 * only act on distances below the slot's K-th nearest, key and radius).
 */
static void mergePart(void *arg, int32_t part, size_t from, size_t to) {
  MergeCtx *c = (MergeCtx *)arg;
  const int32_t dim = c->dim, K = c->K, mode = c->mode;
  const double *a = c->cen + (size_t)c->q * dim;
  const float *a32 = c->cen32 + (size_t)c->q * dim;
  const double nq = c->norms[c->q];
  const double shrink = 1.0 / (1 + (dim / 8 + 4) * ldexp(1.0, -23));
  const double shift = 1.01 * ldexp(1.0, -23);
  double heap[64]; /* the K smallest exact distances computed, as a max-heap */
  int32_t h = 0, n = 0;
  int32_t *outPos = c->outPos + from;
  double *outD = c->outD + from;
  const size_t ahead = 8;
  const int32_t lineFloats = 16;
  for (size_t t = from; t < to; t++) {
    const int32_t x = c->list[t];
    // The list is in slot order but with gaps (merged-away slots): fetch the rows' starts a few slots ahead.
    if (t + ahead < to) {
      const float *next = c->cen32 + (size_t)c->list[t + ahead] * dim;
      for (int32_t k = 0; k < dim && k < 32; k += lineFloats) __builtin_prefetch(next + k);
    }
    if (mode == 1 && c->mark[x]) continue;
    int must = 0;
    double limit = h < K ? INFINITY : heap[0];
    if (mode == 0) {
      if (c->nnId[x] == c->aId || c->nnId[x] == c->bId) c->nnId[x] = -1;
      must = c->nnId[x] == -2;
      if (c->mind[x] > limit) limit = c->mind[x];
      if (c->radius[x] > limit) limit = c->radius[x];
    }
    // 1e-17 in lowFromEstimate: what float32 underflow in the squares could hide (dim terms below 1e-38 each).
    if (!must && limit < INFINITY && farByEstimate(a32, c->cen32 + (size_t)x * dim, dim, shrink, shift, nq + c->norms[x], sqrt(limit) * (1 + 1e-12)))
      continue;
    const double d = sqdist1(a, c->cen + (size_t)x * dim, dim);
    outPos[n] = (int32_t)t;
    outD[n] = d;
    n++;
    kheapOffer(heap, &h, K, d);
  }
  c->from[part] = from;
  c->n[part] = n;
}

static napi_value mergescan(napi_env env, napi_callback_info info) {
  const char *kernel = "ftgeo_dist.mergescan";
  FtgeoArg arg[18];
  if (!kernelArgs(env, info, kernel, "dfzzizddddznnziidz", arg)) return NULL;
  const double *cen = arg[0].f64, *norms = arg[6].f64, *mind = arg[8].f64, *radius = arg[9].f64;
  const float *cen32 = arg[1].f32;
  double *nnId = arg[7].f64, *outD = arg[16].f64, aId = arg[11].number, bId = arg[12].number;
  const int32_t *list = arg[4].i32, *mark = arg[14].i32;
  int32_t *outPos = arg[15].i32, dim = arg[2].integer, q = arg[3].integer, len = arg[5].integer;
  const int32_t K = arg[10].integer, mode = arg[13].integer, maxParts = arg[17].integer;
  const size_t N = arg[6].len;
  if (!fitsFor(env, !(dim <= 0 || dim % 2 != 0 || K < 1 || K > 64 || len < 0 || (size_t)len > arg[4].len || q < 0 || (size_t)q >= N ||
                      N * dim > arg[0].len || N * dim > arg[1].len || N > arg[7].len || N > arg[8].len || N > arg[9].len ||
                      (mode == 1 && N > arg[14].len) || (size_t)len > arg[15].len || (size_t)len > arg[16].len || maxParts < 1),
               kernel, "dim even, 1 <= K <= 64, q and the listed slots below norms' length, the per-slot arrays that long, threads >= 1"))
    return NULL;
  for (int32_t t = 0; t < len; t++) {
    if (!fitsFor(env, !(list[t] < 0 || (size_t)list[t] >= N), kernel, "a slot in list is outside the per-slot arrays")) return NULL;
  }
  MergeCtx ctx = {cen, norms, mind, radius, cen32, nnId, outD, list, mark, outPos, dim, q, K, mode, aId, bId, {0}, {0}};
  const int32_t parts = parForUpTo((size_t)len, MERGE_PART_MIN, maxParts, mergePart, &ctx);
  const int32_t n = joinParts(parts, ctx.from, ctx.n, outPos, outD);
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sqdists", NULL, sqdists, NULL, NULL, NULL, napi_default, NULL},
    {"addrows", NULL, addrows, NULL, NULL, NULL, napi_default, NULL},
    {"dotrows", NULL, dotrows, NULL, NULL, NULL, napi_default, NULL},
    {"extremedot", NULL, extremedot, NULL, NULL, NULL, napi_default, NULL},
    {"extremebatch", NULL, extremebatch, NULL, NULL, NULL, napi_default, NULL},
    {"maxsqdist", NULL, maxsqdist, NULL, NULL, NULL, napi_default, NULL},
    {"blockscan", NULL, blockscan, NULL, NULL, NULL, napi_default, NULL},
    {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
    {"ivfilter", NULL, ivfilter, NULL, NULL, NULL, napi_default, NULL},
    {"mergescan", NULL, mergescan, NULL, NULL, NULL, napi_default, NULL},
    {"corraladd", NULL, corraladd, NULL, NULL, NULL, napi_default, NULL},
    {"sqdevsum", NULL, sqdevsum, NULL, NULL, NULL, napi_default, NULL},
    {"combine", NULL, combine, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
