/*
 * Optional native kernels for the training loop's optimizer (lib/train/optimizer.ts has the JavaScript twins):
 * every operation is the IEEE double operation JavaScript performs, in the same order, so native and JavaScript
 * updates are bit-for-bit equal (test/train-optimizer.test.ts checks). Hence this file is built WITHOUT -ffast-math
 * and with -ffp-contract=off (no fused multiply-add); -fno-math-errno and -fno-trapping-math change no result (sqrt
 * of a non-negative number, no FP exceptions observed) and let gcc vectorise the Adam loop four doubles at a time.
 *
 * sumSquares(g: Float32Array, s0) -> s0 + sum of g[i]^2, accumulated in double in index order.
 * adam(p, g, m, v, gScale, b1, b2, c1, c2, bc2Sqrt, eps, stepSize, shrink): one Adam(W) update in place of the
 *   gradient times gScale rounded to float32; weights with zero gradient and zero moments only shrink.
 */
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include "ftgeo_args.h"

static napi_value sumSquares(napi_env env, napi_callback_info info) {
  float *f[1]; size_t fl[1]; double s[1];
  if (!typedArgs(env, info, "fn", f, fl, NULL, NULL, s)) return NULL;
  for (size_t i = 0; i < fl[0]; i++) s[0] += (double)f[0][i] * (double)f[0][i];
  napi_value out;
  napi_create_double(env, s[0], &out);
  return out;
}

static void adamLoop(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n, double gScale, double b1,
                     double b2, double c1, double c2, double bc2Sqrt, double eps, double stepSize, double shrink) {
  for (size_t i = 0; i < n; i++) {
    // (float)(g * 1.0) is g: one expression serves the unclipped case too, without a branch in the loop.
    const double gi = (double)(float)((double)g[i] * gScale);
    const double mOld = m[i], vOld = v[i];
    // JavaScript skips these weights; computing them anyway and selecting keeps the loop branch-free (vectorised).
    const int skip = (fabs(gi) + fabs(mOld) + vOld) == 0.0;
    const float mi = (float)(b1 * mOld + c1 * gi);
    const float vi = (float)(b2 * vOld + c2 * gi * gi);
    const double decayed = (double)p[i] * shrink; // p * 1.0 is p: no branch for plain Adam either
    const float moved = (float)(decayed - (stepSize * (double)mi) / (sqrt((double)vi) / bc2Sqrt + eps));
    m[i] = skip ? (float)mOld : mi;
    v[i] = skip ? (float)vOld : vi;
    p[i] = skip ? (float)decayed : moved;
  }
}

static napi_value adam(napi_env env, napi_callback_info info) {
  float *a[4]; size_t len[4]; double x[9];
  if (!typedArgs(env, info, "ffffnnnnnnnnn", a, len, NULL, NULL, x)) return NULL;
  if (!fits(env, len[1] == len[0] && len[2] == len[0] && len[3] == len[0])) return NULL; /* p, g, m, v: one length */
  adamLoop(a[0], a[1], a[2], a[3], len[0], x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]);
  return NULL;
}

#define EXPORT(fn) {#fn, NULL, fn, NULL, NULL, NULL, napi_writable | napi_enumerable | napi_configurable, NULL}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {EXPORT(sumSquares), EXPORT(adam)};
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
