/*
 * Argument reading shared by the project's N-API addons (each is one C file compiled on its own; see
 * lib/util/native-addon.ts, which puts this folder on the include path). Kernels describe their arguments with a
 * signature string and get typed pointers, lengths and numbers back, or a pending JavaScript exception.
 *
 * Signature letters, one per argument:
 *   'f' Float32Array   'd' Float64Array   'i' Int32Array   (the data, writable, and its element count)
 *   'n' number, read as a double
 *   'z' number, read as an int32 (napi_get_value_int32: truncated toward zero, the low 32 bits of larger values)
 *   'b' boolean (a number or anything else is refused, not coerced)
 *   'a' Array (its napi_value and length; the kernel reads the elements)
 */
#ifndef FTGEO_ARGS_H
#define FTGEO_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The data of a typed array of the given type, or NULL with a TypeError saying `what`. */
static inline void *typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t *len, const char *what) {
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

static inline const float *floatArray(napi_env env, napi_value v, size_t *len, const char *what) {
  return (const float *)typedArray(env, v, napi_float32_array, len, what);
}

/* One argument read by kernelArgs: the member its signature letter names is set. */
typedef struct {
  union {
    float *f32;   /* 'f' */
    double *f64;  /* 'd' */
    int32_t *i32; /* 'i' */
  };
  size_t len; /* 'f', 'd', 'i', 'a': the element count */
  napi_value value; /* 'a' */
  union {
    double number;   /* 'n' */
    int32_t integer; /* 'z' */
    bool boolean;    /* 'b' */
  };
} FtgeoArg;

#define FTGEO_MAX_ARGS 32

/* The JavaScript kind a signature letter stands for ("Float64Array", ...) with its article, or NULL. */
static inline const char *ftgeoArgKind(char letter, const char **article) {
  *article = "a";
  switch (letter) {
    case 'f': return "Float32Array";
    case 'd': return "Float64Array";
    case 'i': *article = "an"; return "Int32Array";
    case 'n': return "number";
    case 'z': *article = "an"; return "int32";
    case 'b': return "boolean";
    case 'a': *article = "an"; return "Array";
    default: return NULL;
  }
}

/* "(Float64Array, int32, ...)": the signature spelled out for error messages. */
static inline void ftgeoSignatureText(const char *sig, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "(");
  for (size_t i = 0; sig[i] && used < size; i++) {
    const char *article, *kind = ftgeoArgKind(sig[i], &article);
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", kind ? kind : "?");
  }
  if (used < size) snprintf(buf + used, size - used, ")");
}

/* What a value is, for "got ..." in error messages: its typed array type or its typeof. */
static inline const char *ftgeoValueKind(napi_env env, napi_value v) {
  static const char *const arrays[] = {"an Int8Array", "a Uint8Array", "a Uint8ClampedArray", "an Int16Array", "a Uint16Array", "an Int32Array",
                                       "a Uint32Array", "a Float32Array", "a Float64Array", "a BigInt64Array", "a BigUint64Array"};
  static const char *const types[] = {"undefined", "null", "a boolean", "a number", "a string", "a symbol", "an object", "a function", "an external", "a bigint"};
  bool isTa = false;
  napi_typedarray_type ta;
  if (napi_is_typedarray(env, v, &isTa) == napi_ok && isTa && napi_get_typedarray_info(env, v, &ta, NULL, NULL, NULL, NULL) == napi_ok &&
      (size_t)ta < sizeof arrays / sizeof arrays[0])
    return arrays[ta];
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && (size_t)t < sizeof types / sizeof types[0]) return types[t];
  return "something else";
}

/* Reads argument v as signature letter `letter` into *a; false (no exception thrown yet) when v is not of that kind. */
static inline bool ftgeoReadArg(napi_env env, napi_value v, char letter, FtgeoArg *a) {
  bool isTa = false;
  napi_typedarray_type type;
  void *data = NULL;
  switch (letter) {
    case 'f':
    case 'd':
    case 'i': {
      const napi_typedarray_type want = letter == 'f' ? napi_float32_array : letter == 'd' ? napi_float64_array : napi_int32_array;
      if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa || napi_get_typedarray_info(env, v, &type, &a->len, &data, NULL, NULL) != napi_ok ||
          type != want)
        return false;
      if (letter == 'f') a->f32 = (float *)data;
      else if (letter == 'd') a->f64 = (double *)data;
      else a->i32 = (int32_t *)data;
      return true;
    }
    case 'n': return napi_get_value_double(env, v, &a->number) == napi_ok;
    case 'z': return napi_get_value_int32(env, v, &a->integer) == napi_ok;
    case 'b': return napi_get_value_bool(env, v, &a->boolean) == napi_ok;
    case 'a': {
      bool isArray = false;
      uint32_t len = 0;
      if (napi_is_array(env, v, &isArray) != napi_ok || !isArray || napi_get_array_length(env, v, &len) != napi_ok) return false;
      a->value = v;
      a->len = len;
      return true;
    }
    default: return false;
  }
}

/*
 * Throws the error for argument `bad` of a call to `kernel` with the given signature (bad == argc: the count is
 * wrong): an Error for a wrong count or an unknown signature letter, a TypeError for a wrong kind. Kept out of
 * kernelArgs (noinline, cold) so that the kernels' calls, millions per run, carry no message buffers.
 */
static __attribute__((noinline, cold, unused)) void ftgeoArgError(napi_env env, const char *kernel, const char *sig, napi_value *argv, size_t argc, size_t bad) {
  char expected[16 * FTGEO_MAX_ARGS], msg[64 + 18 * FTGEO_MAX_ARGS + 256];
  const char *article = "a", *kind = bad < argc ? ftgeoArgKind(sig[bad], &article) : NULL;
  ftgeoSignatureText(sig, expected, sizeof expected);
  if (bad == argc) {
    if (kernel) snprintf(msg, sizeof msg, "%s: wrong number of arguments: expected %zu %s, got %zu", kernel, strlen(sig), expected, argc);
    napi_throw_error(env, NULL, kernel ? msg : "ftgeo native kernel: wrong number of arguments");
  } else if (!kind) { /* a mistake in the C caller, not in the JavaScript one */
    snprintf(msg, sizeof msg, "%s: signature \"%s\" has an unknown letter '%c'", kernel ? kernel : "ftgeo native kernel", sig, sig[bad]);
    napi_throw_error(env, NULL, msg);
  } else {
    if (kernel)
      snprintf(msg, sizeof msg, "%s: expected %s %s as argument %zu of %s, got %s", kernel, article, kind, bad + 1, expected, ftgeoValueKind(env, argv[bad]));
    else
      snprintf(msg, sizeof msg, "ftgeo native kernel: expected %s %s", article, kind);
    napi_throw_type_error(env, NULL, msg);
  }
}

/*
 * Reads exactly strlen(sig) arguments (at most FTGEO_MAX_ARGS) into a[0..], one per signature letter. Returns 0 with
 * an exception pending on a wrong count (Error) or kind (TypeError); the message starts with `kernel`
 * ("ftgeo_dist.sqdists") and says what was expected, which argument, and what it got. kernel NULL gives the
 * shorter messages of typedArgs ("ftgeo native kernel: expected a Float32Array").
 */
static inline int kernelArgs(napi_env env, napi_callback_info info, const char *kernel, const char *sig, FtgeoArg *a) {
  napi_value argv[FTGEO_MAX_ARGS];
  const size_t want = strlen(sig);
  size_t argc = want < FTGEO_MAX_ARGS ? want : FTGEO_MAX_ARGS; /* room for the expected arguments; argc comes back as the actual count */
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != want || want > FTGEO_MAX_ARGS) {
    ftgeoArgError(env, kernel, sig, argv, argc, argc);
    return 0;
  }
  for (size_t i = 0; i < want; i++) {
    if (!ftgeoReadArg(env, argv[i], sig[i], &a[i])) {
      ftgeoArgError(env, kernel, sig, argv, argc, i);
      return 0;
    }
  }
  return 1;
}

/*
 * Reads exactly strlen(sig) arguments (at most FTGEO_MAX_ARGS) of the letters 'f', 'i' and 'n' only: Float32Array
 * into fa/flen, Int32Array into ia/ilen, number into nums, each in order. Returns 0 with an exception pending on a
 * wrong count or type. (The older interface, kept for its callers; kernelArgs reads every letter and names the
 * kernel.)
 */
static inline int typedArgs(napi_env env, napi_callback_info info, const char *sig, float **fa, size_t *flen, int32_t **ia, size_t *ilen, double *nums) {
  FtgeoArg a[FTGEO_MAX_ARGS];
  if (strspn(sig, "fin") != strlen(sig)) {
    napi_throw_error(env, NULL, "ftgeo native kernel: typedArgs reads only 'f', 'i' and 'n' (kernelArgs reads the other letters)");
    return 0;
  }
  if (!kernelArgs(env, info, NULL, sig, a)) return 0;
  int nf = 0, ni = 0, nn = 0;
  for (size_t i = 0; sig[i]; i++) {
    if (sig[i] == 'f') {
      fa[nf] = a[i].f32;
      flen[nf++] = a[i].len;
    } else if (sig[i] == 'i') {
      ia[ni] = a[i].i32;
      ilen[ni++] = a[i].len;
    } else {
      nums[nn++] = a[i].number;
    }
  }
  return 1;
}

/* ok, or 0 with a RangeError "<kernel>: <what>" (what: the condition that failed, as the caller should read it). */
static inline int fitsFor(napi_env env, int ok, const char *kernel, const char *what) {
  if (!ok) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", kernel, what);
    napi_throw_range_error(env, NULL, msg);
  }
  return ok;
}

/* ok, or 0 with a RangeError: the sizes passed do not fit the arrays. */
static inline int fits(napi_env env, int ok) {
  if (!ok) napi_throw_range_error(env, NULL, "ftgeo native kernel: sizes do not fit the arrays");
  return ok;
}

#endif
