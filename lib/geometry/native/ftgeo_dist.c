/*
 * Optional native kernel for centroid linkage (lib/geometry/agglomerate.ts): squared Euclidean distances from one
 * row of a float64 matrix to many rows, bit-identical to the JS loop it replaces. Per pair the sum runs in the JS
 * order (even coordinates into s0, odd ones into s1, then s0 + s1) with IEEE double arithmetic: this file must be
 * built WITHOUT -ffast-math and with -ffp-contract=off (no fused multiply-add), so that gcc can neither reorder
 * the sums nor fuse products; speed comes from doing four pairs at once (independent dependency chains).
 *
 * sqdists(cen: Float64Array, dim, q, rows: Int32Array, start, end, out: Float64Array)
 *   out[t - start] = sum over k of (cen[q*dim + k] - cen[rows[t]*dim + k])^2 for start <= t < end; dim even.
 */
#include <node_api.h>
#include <stdint.h>

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

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "sqdists", NAPI_AUTO_LENGTH, sqdists, NULL, &f);
  napi_set_named_property(env, exports, "sqdists", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
