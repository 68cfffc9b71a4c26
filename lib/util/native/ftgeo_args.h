/*
 * Argument reading shared by the project's N-API addons (each is one C file compiled on its own; see
 * lib/util/native-addon.ts, which puts this folder on the include path). Kernels describe their arguments with a
 * signature string and get typed pointers, lengths and numbers back, or a pending JavaScript exception.
 */
#ifndef FTGEO_ARGS_H
#define FTGEO_ARGS_H

#include <node_api.h>
#include <stdint.h>
#include <string.h>

/* The data of a typed array of the given type, or NULL with a TypeError saying `what`. */
static void *typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t *len, const char *what) {
  bool isTa = false;
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa || napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok ||
      type != want) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return data;
}

static const float *floatArray(napi_env env, napi_value v, size_t *len, const char *what) {
  return (const float *)typedArray(env, v, napi_float32_array, len, what);
}

/*
 * Reads exactly strlen(sig) arguments (at most 16): 'f' Float32Array into fa/flen, 'i' Int32Array into ia/ilen,
 * 'n' number into nums, each in order. Returns 0 with an exception pending on a wrong count or type.
 */
static int typedArgs(napi_env env, napi_callback_info info, const char *sig, float **fa, size_t *flen, int32_t **ia, size_t *ilen, double *nums) {
  napi_value argv[16];
  size_t argc = 16;
  const size_t want = strlen(sig);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != want || want > 16) {
    napi_throw_error(env, NULL, "ftgeo native kernel: wrong number of arguments");
    return 0;
  }
  int nf = 0, ni = 0, nn = 0;
  for (size_t i = 0; i < want; i++) {
    if (sig[i] == 'f') {
      fa[nf] = (float *)floatArray(env, argv[i], &flen[nf], "ftgeo native kernel: expected a Float32Array");
      if (!fa[nf++]) return 0;
    } else if (sig[i] == 'i') {
      ia[ni] = (int32_t *)typedArray(env, argv[i], napi_int32_array, &ilen[ni], "ftgeo native kernel: expected an Int32Array");
      if (!ia[ni++]) return 0;
    } else if (napi_get_value_double(env, argv[i], &nums[nn++]) != napi_ok) {
      napi_throw_type_error(env, NULL, "ftgeo native kernel: expected a number");
      return 0;
    }
  }
  return 1;
}

/* ok, or 0 with a RangeError: the sizes passed do not fit the arrays. */
static int fits(napi_env env, int ok) {
  if (!ok) napi_throw_range_error(env, NULL, "ftgeo native kernel: sizes do not fit the arrays");
  return ok;
}

#endif
