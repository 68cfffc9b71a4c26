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
 */
#include <node_api.h>
#include <stdint.h>
#include <math.h>

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static napi_value sqdists(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *cen, *out;
  int32_t *rows;
  size_t cenLen, rowsLen, outLen;
  int32_t dim, q, start, end;
  if (argc != 7 || !typed(env, argv[0], napi_float64_array, (void **)&cen, &cenLen) ||
      napi_get_value_int32(env, argv[1], &dim) != napi_ok || napi_get_value_int32(env, argv[2], &q) != napi_ok ||
      !typed(env, argv[3], napi_int32_array, (void **)&rows, &rowsLen) ||
      napi_get_value_int32(env, argv[4], &start) != napi_ok || napi_get_value_int32(env, argv[5], &end) != napi_ok ||
      !typed(env, argv[6], napi_float64_array, (void **)&out, &outLen)) {
    napi_throw_type_error(env, NULL, "ftgeo_dist.sqdists: expected (Float64Array, dim, q, Int32Array, start, end, Float64Array)");
    return NULL;
  }
  if (dim <= 0 || dim % 2 != 0 || q < 0 || (size_t)(q + 1) * dim > cenLen || start < 0 || end < start ||
      (size_t)end > rowsLen || (size_t)(end - start) > outLen) {
    napi_throw_range_error(env, NULL, "ftgeo_dist.sqdists: dim must be even and positive, q and [start, end) within the arrays");
    return NULL;
  }
  for (int32_t t = start; t < end; t++) {
    if (rows[t] < 0 || (size_t)(rows[t] + 1) * dim > cenLen) {
      napi_throw_range_error(env, NULL, "ftgeo_dist.sqdists: a row index is outside the matrix");
      return NULL;
    }
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

/* Checks (data: Float32Array, dim, rows: Int32Array, y: Float64Array): every row inside data, y of length dim. */
static int rows_args(napi_env env, napi_value *argv, const char *what, float **data, int32_t *dim, int32_t **rows, size_t *nrows, double **y) {
  size_t dataLen, yLen;
  if (!typed(env, argv[0], napi_float32_array, (void **)data, &dataLen) || napi_get_value_int32(env, argv[1], dim) != napi_ok ||
      !typed(env, argv[2], napi_int32_array, (void **)rows, nrows) || !typed(env, argv[3], napi_float64_array, (void **)y, &yLen)) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  if (*dim <= 0 || yLen < (size_t)*dim) {
    napi_throw_range_error(env, NULL, "ftgeo_dist: dim must be positive and the vector at least dim long");
    return 0;
  }
  for (size_t t = 0; t < *nrows; t++) {
    if ((*rows)[t] < 0 || ((size_t)(*rows)[t] + 1) * (size_t)*dim > dataLen) {
      napi_throw_range_error(env, NULL, "ftgeo_dist: a row index is outside the matrix");
      return 0;
    }
  }
  return 1;
}

/*
 * dotrows(data: Float32Array, dim, rows: Int32Array, y: Float64Array, out: Float64Array)
 *   out[t] = row rows[t] . y, summed exactly as matrix.ts's dotRow: coordinates k = 0, 4, 8, ... into s0, 1, 5, ...
 *   into s1 and so on, the tail (dim % 4) into s0, then ((s0 + s1) + s2) + s3.
 */
static napi_value dotrows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *data;
  int32_t dim, *rows;
  size_t n, outLen;
  double *y, *out;
  const char *what = "ftgeo_dist.dotrows: expected (Float32Array, dim, Int32Array, Float64Array, Float64Array)";
  if (argc != 5) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  if (!rows_args(env, argv, what, &data, &dim, &rows, &n, &y)) return NULL;
  if (!typed(env, argv[4], napi_float64_array, (void **)&out, &outLen) || outLen < n) {
    napi_throw_range_error(env, NULL, "ftgeo_dist.dotrows: out must be a Float64Array with a place for every row");
    return NULL;
  }
  for (size_t t = 0; t < n; t++) {
    const float *x = data + (size_t)rows[t] * dim;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int32_t k = 0;
    for (; k + 3 < dim; k += 4) {
      s0 += (double)x[k] * y[k];
      s1 += (double)x[k + 1] * y[k + 1];
      s2 += (double)x[k + 2] * y[k + 2];
      s3 += (double)x[k + 3] * y[k + 3];
    }
    for (; k < dim; k++) s0 += (double)x[k] * y[k];
    out[t] = ((s0 + s1) + s2) + s3;
  }
  return NULL;
}

/*
 * extremedot(data: Float32Array, dim, rows: Int32Array, w: Float64Array, wantMin: boolean, start: number) -> number
 *   The smallest (wantMin) or largest of start and every row rows[t] . w, each summed as dotrows sums (four
 *   accumulators: a quarter of the dependent additions of one), compared as matrix.ts's extremeProjection does.
 */
static napi_value extremedot(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *data;
  int32_t dim, *rows;
  size_t n;
  double *w, best;
  bool wantMin;
  const char *what = "ftgeo_dist.extremedot: expected (Float32Array, dim, Int32Array, Float64Array, boolean, number)";
  if (argc != 6) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  if (!rows_args(env, argv, what, &data, &dim, &rows, &n, &w)) return NULL;
  if (napi_get_value_bool(env, argv[4], &wantMin) != napi_ok || napi_get_value_double(env, argv[5], &best) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  for (size_t t = 0; t < n; t++) {
    const float *x = data + (size_t)rows[t] * dim;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int32_t k = 0;
    for (; k + 3 < dim; k += 4) {
      s0 += (double)x[k] * w[k];
      s1 += (double)x[k + 1] * w[k + 1];
      s2 += (double)x[k + 2] * w[k + 2];
      s3 += (double)x[k + 3] * w[k + 3];
    }
    for (; k < dim; k++) s0 += (double)x[k] * w[k];
    const double s = ((s0 + s1) + s2) + s3;
    if (wantMin) {
      if (s < best) best = s;
    } else if (s > best) best = s;
  }
  napi_value result;
  napi_create_double(env, best, &result);
  return result;
}

/*
 * spherescan(centres, radii, labels, proj, norms, size, dim, nd, c, rc, label, pc, nc, outSlot, outCd2, counts) -> n
 *   overlap.ts's scanPool loop up to the distance test: for every slot s < size whose label differs from `label`,
 *   first the projection filter (the sum over j of (|pc[j] - proj[s*nd + j]| - 1e-12 (nc + norms[s]))^2, terms
 *   below 0 left out, above (rc + r_s)^2 (1 + 1e-7): skipped), then the squared distance of c and centre s summed in coordinate order in blocks of 32, abandoned
 *   when a block ends above (rc + r_s)^2 (1 + 1e-9) + 1e-300 (skipped). The slots that remain and their squared
 *   distances go to outSlot[0..n), outCd2[0..n); counts[0..3) += the slots tested, skipped by the distance and
 *   skipped by the projections. Same expressions, same order, so the same doubles as the JS loop.
 */
static napi_value spherescan(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *centres, *radii, *proj, *norms, *c, *pc, *outCd2, *counts, rc, nc;
  int32_t *labels, *outSlot, size, dim, nd, label;
  size_t lc, lr, ll, lp, ln, lcc, lpc, los, lod, lcn;
  if (argc != 16 || !typed(env, argv[0], napi_float64_array, (void **)&centres, &lc) || !typed(env, argv[1], napi_float64_array, (void **)&radii, &lr) ||
      !typed(env, argv[2], napi_int32_array, (void **)&labels, &ll) || !typed(env, argv[3], napi_float64_array, (void **)&proj, &lp) ||
      !typed(env, argv[4], napi_float64_array, (void **)&norms, &ln) || napi_get_value_int32(env, argv[5], &size) != napi_ok ||
      napi_get_value_int32(env, argv[6], &dim) != napi_ok || napi_get_value_int32(env, argv[7], &nd) != napi_ok ||
      !typed(env, argv[8], napi_float64_array, (void **)&c, &lcc) || napi_get_value_double(env, argv[9], &rc) != napi_ok ||
      napi_get_value_int32(env, argv[10], &label) != napi_ok || !typed(env, argv[11], napi_float64_array, (void **)&pc, &lpc) ||
      napi_get_value_double(env, argv[12], &nc) != napi_ok || !typed(env, argv[13], napi_int32_array, (void **)&outSlot, &los) ||
      !typed(env, argv[14], napi_float64_array, (void **)&outCd2, &lod) || !typed(env, argv[15], napi_float64_array, (void **)&counts, &lcn)) {
    napi_throw_type_error(env, NULL, "ftgeo_dist.spherescan: expected (Float64Array x2, Int32Array, Float64Array x2, size, dim, nd, Float64Array, rc, label, Float64Array, nc, Int32Array, Float64Array x2)");
    return NULL;
  }
  if (size < 0 || dim <= 0 || nd < 0 || (size_t)size * dim > lc || (size_t)size > lr || (size_t)size > ll || (size_t)size * nd > lp ||
      (size_t)size > ln || (size_t)dim > lcc || (size_t)nd > lpc || (size_t)size > los || (size_t)size > lod || lcn < 3) {
    napi_throw_range_error(env, NULL, "ftgeo_dist.spherescan: an array is shorter than size, dim or nd require");
    return NULL;
  }
  int32_t n = 0;
  double checks = 0, skips = 0, projSkips = 0;
  for (int32_t s = 0; s < size; s++) {
    if (labels[s] == label) continue;
    checks++;
    const double rx = radii[s];
    const double reach = rc + rx;
    if (nd > 0) {
      const double delta = 1e-12 * (nc + norms[s]);
      const double enough = reach * reach * (1 + 1e-7);
      const double *p = proj + (size_t)s * nd;
      double low2 = 0;
      for (int32_t j = 0; j < nd && low2 <= enough; j++) {
        const double t = fabs(pc[j] - p[j]) - delta;
        if (t > 0) low2 += t * t;
      }
      if (low2 > enough) {
        projSkips++;
        continue;
      }
    }
    const double limit = reach * reach * (1 + 1e-9) + 1e-300;
    const double *x = centres + (size_t)s * dim;
    double cd2 = 0;
    int32_t k = 0;
    int far = 0;
    while (k < dim) {
      const int32_t end = k + 32 < dim ? k + 32 : dim;
      for (; k < end; k++) {
        const double t = c[k] - x[k];
        cd2 += t * t;
      }
      if (cd2 > limit) {
        far = 1;
        break;
      }
    }
    if (far) {
      skips++;
      continue;
    }
    outSlot[n] = s;
    outCd2[n] = cd2;
    n++;
  }
  counts[0] += checks;
  counts[1] += skips;
  counts[2] += projSkips;
  napi_value result;
  napi_create_int32(env, n, &result);
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
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *flat, *x, *R, *r, lift;
  int32_t *sides, k, dim, side, cap;
  size_t lf, lx, ls, lR, lr;
  if (argc != 10 || !typed(env, argv[0], napi_float64_array, (void **)&flat, &lf) || napi_get_value_int32(env, argv[1], &k) != napi_ok ||
      napi_get_value_int32(env, argv[2], &dim) != napi_ok || !typed(env, argv[3], napi_float64_array, (void **)&x, &lx) ||
      !typed(env, argv[4], napi_int32_array, (void **)&sides, &ls) || napi_get_value_int32(env, argv[5], &side) != napi_ok ||
      napi_get_value_double(env, argv[6], &lift) != napi_ok || !typed(env, argv[7], napi_float64_array, (void **)&R, &lR) ||
      napi_get_value_int32(env, argv[8], &cap) != napi_ok || !typed(env, argv[9], napi_float64_array, (void **)&r, &lr)) {
    napi_throw_type_error(env, NULL, "ftgeo_dist.corraladd: expected (Float64Array, k, dim, Float64Array, Int32Array, side, lift, Float64Array, cap, Float64Array)");
    return NULL;
  }
  if (k < 0 || dim <= 0 || cap < k || (size_t)k * dim > lf || (size_t)dim > lx || (size_t)k > ls || (size_t)cap * cap > lR || (size_t)k > lr) {
    napi_throw_range_error(env, NULL, "ftgeo_dist.corraladd: an array is shorter than k, dim or cap require");
    return NULL;
  }
  for (int32_t i = 0; i < k; i++) {
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
 * sqdevsum(data: Float32Array, dim, rows: Int32Array, shift: Float64Array, start) -> start + the sum over the rows, in
 *   order, and their coordinates, in order, of (x_k - shift_k)^2, in one accumulator (corral.ts's lift constant).
 */
static napi_value sqdevsum(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *data;
  int32_t dim, *rows;
  size_t n;
  double *shift, acc;
  const char *what = "ftgeo_dist.sqdevsum: expected (Float32Array, dim, Int32Array, Float64Array, number)";
  if (argc != 5) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  if (!rows_args(env, argv, what, &data, &dim, &rows, &n, &shift)) return NULL;
  if (napi_get_value_double(env, argv[4], &acc) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
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
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *dataA, *dataB;
  int32_t dim, *rows, *sides;
  double *weights, *p, *q;
  size_t la, lb, lr, lw, ls, lp, lq;
  if (argc != 8 || !typed(env, argv[0], napi_float32_array, (void **)&dataA, &la) || !typed(env, argv[1], napi_float32_array, (void **)&dataB, &lb) ||
      napi_get_value_int32(env, argv[2], &dim) != napi_ok || !typed(env, argv[3], napi_int32_array, (void **)&rows, &lr) ||
      !typed(env, argv[4], napi_float64_array, (void **)&weights, &lw) || !typed(env, argv[5], napi_int32_array, (void **)&sides, &ls) ||
      !typed(env, argv[6], napi_float64_array, (void **)&p, &lp) || !typed(env, argv[7], napi_float64_array, (void **)&q, &lq)) {
    napi_throw_type_error(env, NULL, "ftgeo_dist.combine: expected (Float32Array, Float32Array, dim, Int32Array, Float64Array, Int32Array, Float64Array, Float64Array)");
    return NULL;
  }
  if (dim <= 0 || lw < lr || ls < lr || lp < (size_t)dim || lq < (size_t)dim) {
    napi_throw_range_error(env, NULL, "ftgeo_dist.combine: weights and sides need one entry per row, p and q dim entries");
    return NULL;
  }
  for (size_t i = 0; i < lr; i++) {
    const size_t len = sides[i] > 0 ? la : lb;
    if (rows[i] < 0 || ((size_t)rows[i] + 1) * (size_t)dim > len) {
      napi_throw_range_error(env, NULL, "ftgeo_dist.combine: a row index is outside its matrix");
      return NULL;
    }
  }
  for (size_t i = 0; i < lr; i++) {
    const double w = weights[i];
    const float *x = (sides[i] > 0 ? dataA : dataB) + (size_t)rows[i] * dim;
    double *acc = sides[i] > 0 ? p : q;
    for (int32_t k = 0; k < dim; k++) acc[k] += w * x[k];
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sqdists", NULL, sqdists, NULL, NULL, NULL, napi_default, NULL},
    {"dotrows", NULL, dotrows, NULL, NULL, NULL, napi_default, NULL},
    {"extremedot", NULL, extremedot, NULL, NULL, NULL, napi_default, NULL},
    {"spherescan", NULL, spherescan, NULL, NULL, NULL, napi_default, NULL},
    {"corraladd", NULL, corraladd, NULL, NULL, NULL, napi_default, NULL},
    {"sqdevsum", NULL, sqdevsum, NULL, NULL, NULL, napi_default, NULL},
    {"combine", NULL, combine, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
