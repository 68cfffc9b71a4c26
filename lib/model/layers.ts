/**
 * The building blocks of the BERT encoder as tfjs ops with hand-written gradients.
 *
 * Why hand-written: on the wasm backend (4.22) matMul is fast (XNNPACK) only for plain 2-D operands; a transposed
 * or batched operand falls back to a scalar loop about 10x slower, and the automatic gradients of matMul produce
 * exactly those. Every product here is therefore a plain 2-D matMul, with explicit transposes, in the forward
 * pass and in the gradients. The other blocks (layer norm, GELU, attention) get fused gradients too, which saves
 * tensors and kernel calls compared with differentiating their elementary ops.
 *
 * Conventions: activations are 2-D [tokens, features] (tokens = batch * sequence, row-major by sentence);
 * Linear weights are kept in Hugging Face's layout [out, in].
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng";

/**
 * Transposed copies of weight tensors, reused while the weight is unchanged. A tf.Variable that is assigned gets
 * a new dataId, which invalidates its entry. Reusing the same tensor also lets the wasm backend reuse its packed
 * XNNPACK operator.
 */
const transposeCache = new WeakMap<tf.Tensor, { dataId: object; t: tf.Tensor2D }>();

export function cachedTranspose(w: tf.Tensor2D): tf.Tensor2D {
  // Only parameters are cached: a kept copy of a temporary tensor would hold wasm memory that GC cannot free.
  if (!(w instanceof tf.Variable) && !concatOutputs.has(w)) return tf.transpose(w);
  const hit = transposeCache.get(w);
  if (hit && hit.dataId === w.dataId && !hit.t.isDisposed) return hit.t;
  if (hit && !hit.t.isDisposed) hit.t.dispose();
  const t = tf.keep(tf.transpose(w));
  transposeCache.set(w, { dataId: w.dataId, t });
  return t;
}

/** Concatenated weights (for fused Q/K/V projections), cached like cachedTranspose. */
const concatCache = new Map<string, { ids: object[]; t: tf.Tensor }>();
/** The cached concatenations themselves (their transposes are cached too). */
const concatOutputs = new WeakSet<tf.Tensor>();

export function cachedConcat(key: string, parts: tf.Tensor[], axis: number): tf.Tensor {
  if (!parts.every((p) => p instanceof tf.Variable)) return tf.concat(parts, axis);
  const hit = concatCache.get(key);
  if (hit && !hit.t.isDisposed && hit.ids.length === parts.length && hit.ids.every((id, i) => id === parts[i].dataId)) return hit.t;
  if (hit) {
    releaseTranspose(hit.t);
    if (!hit.t.isDisposed) hit.t.dispose();
  }
  const t = tf.keep(tf.concat(parts, axis));
  concatOutputs.add(t);
  concatCache.set(key, { ids: parts.map((p) => p.dataId), t });
  return t;
}

/** Drop cached copies whose key starts with `prefix` (a model being disposed). */
export function releaseCached(prefix: string): void {
  for (const [key, v] of concatCache) {
    if (key.startsWith(prefix)) {
      releaseTranspose(v.t);
      if (!v.t.isDisposed) v.t.dispose();
      concatCache.delete(key);
    }
  }
}

export function releaseTranspose(w: tf.Tensor): void {
  const hit = transposeCache.get(w);
  if (hit && !hit.t.isDisposed) hit.t.dispose();
  transposeCache.delete(w);
}

/** What the body of a custom-gradient op returns (tfjs' own typing of customGrad is too narrow for our signatures). */
export interface CustomResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** tf.customGrad with a loose signature: the last argument of `f` is the save function. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function custom(f: (...args: any[]) => CustomResult): (...xs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as never) as unknown as (...xs: tf.Tensor[]) => tf.Tensor;
}

/**
 * x W^T + b. Where transposed products are fast (native BLAS, tfjs-node, cpu) W is used as it is; on plain wasm
 * through a cached transposed copy (no per-call transpose, and XNNPACK reuses its packed operator).
 */
function timesTransposed(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (!slowBatchedMatMul()) return tf.fused.matMul({ a: x, b: w, transposeB: true, bias: b }) as tf.Tensor2D;
  return tf.fused.matMul({ a: x, b: cachedTranspose(w), bias: b }) as tf.Tensor2D;
}

/** a^T b for 2-D a, b: one transposed product where that is fast, else an explicit transpose first (see the header). */
function matMulAT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return slowBatchedMatMul() ? tf.matMul(tr(a), b) : tf.matMul(a, b, true, false);
}

/** Rows of ones for colSum, by row count (a few batch shapes recur). */
const onesRows = new Map<number, tf.Tensor2D>();

/**
 * Sum over the rows of a 2-D tensor as a product with a row of ones: the wasm Sum kernel reduces a non-last axis
 * by transposing first, the product is one pass.
 */
export function colSum(x: tf.Tensor2D): tf.Tensor1D {
  const [n, c] = x.shape;
  let ones = onesRows.get(n);
  if (!ones || ones.isDisposed) {
    if (onesRows.size >= 8) {
      for (const t of onesRows.values()) t.dispose();
      onesRows.clear();
    }
    ones = tf.keep(tf.ones([1, n])) as tf.Tensor2D;
    onesRows.set(n, ones);
  }
  return tf.reshape(tf.matMul(ones, x), [c]);
}

/** Transpose a 2-D tensor (the backward passes need explicit transposes; see the header). */
function tr(x: tf.Tensor): tf.Tensor2D {
  return tf.transpose(x as tf.Tensor2D);
}

/** y = x W^T + b for x [n, in], W [out, in] (Hugging Face layout), b [out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = custom((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, ww]);
    const value = timesTransposed(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        return [tf.matMul(dy2, sw), matMulAT(dy2, sx), colSum(dy2)];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/**
 * Several linear maps of the same input in one product, e.g. the query, key and value projections:
 * returns x [W_1; ...; W_k]^T + [b_1, ..., b_k], shape [n, sum(out_i)]. `key` names the weights for the cache.
 */
export function linearConcat(key: string, x: tf.Tensor2D, ws: tf.Tensor2D[], bs: tf.Tensor1D[]): tf.Tensor2D {
  const k = ws.length;
  const outs = ws.map((w) => w.shape[0]);
  const f = custom((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xx = args[0] as tf.Tensor2D;
    const wsIn = args.slice(1, 1 + k) as tf.Tensor2D[];
    const bsIn = args.slice(1 + k, 1 + 2 * k) as tf.Tensor1D[];
    const wCat = cachedConcat(key + "/w", wsIn, 0) as tf.Tensor2D;
    const bCat = cachedConcat(key + "/b", bsIn, 0) as tf.Tensor1D;
    save([xx, wCat]);
    const value = timesTransposed(xx, wCat, bCat);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        const dx = tf.matMul(dy2, sw);
        const dw = matMulAT(dy2, sx);
        const db = colSum(dy2);
        return [dx, ...tf.split(dw, outs, 0), ...tf.split(db, outs, 0)];
      },
    };
  });
  return f(x, ...ws, ...bs) as tf.Tensor2D;
}

/** Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as torch). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const f = custom((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [xhat, rstd] = tf.tidy(() => {
      const { mean, variance } = tf.moments(xx, -1, true);
      const r = tf.rsqrt(tf.add(variance, eps));
      return [tf.mul(tf.sub(xx, mean), r), r];
    });
    save([xhat, rstd, g]);
    const value = tf.add(tf.mul(xhat, g), b);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, sr, sg] = saved;
        const dxhat = tf.mul(dy, sg);
        const m1 = tf.mean(dxhat, -1, true);
        const m2 = tf.mean(tf.mul(dxhat, sxhat), -1, true);
        const dx = tf.mul(sr, tf.sub(tf.sub(dxhat, m1), tf.mul(sxhat, m2)));
        return [dx, colSum(tf.mul(dy, sxhat) as tf.Tensor2D), colSum(dy as tf.Tensor2D)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as Hugging Face's "gelu". */
export function gelu(x: tf.Tensor): tf.Tensor {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const native = require("./native-blas") as typeof import("./native-blas");
  if (native.nativeGeluActive()) {
    const g = custom((xx: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xx]);
      return {
        value: tf.engine().runKernel(native.GELU_KERNEL, { x: xx }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.engine().runKernel(native.GELU_GRAD_KERNEL, { x: saved[0], dy }) as tf.Tensor],
      };
    });
    return g(x);
  }
  const f = custom((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx]);
    const value = tf.tidy(() => tf.mul(tf.mul(xx, 0.5), tf.add(tf.erf(tf.mul(xx, SQRT1_2)), 1)));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx] = saved;
        // d/dx [x Phi(x)] = Phi(x) + x phi(x)
        const cdf = tf.mul(tf.add(tf.erf(tf.mul(sx, SQRT1_2)), 1), 0.5);
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI);
        return [tf.mul(dy, tf.add(cdf, tf.mul(sx, pdf)))];
      },
    };
  });
  return f(x);
}

/** The tanh approximation of GELU (Hugging Face's "gelu_new"); autodiff is fine for it (no matMul involved). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

export function activation(name: string, x: tf.Tensor): tf.Tensor {
  if (name === "gelu" || name === "gelu_python") return gelu(x);
  if (name === "gelu_new") return geluTanh(x);
  if (name === "relu") return tf.relu(x);
  throw new Error(`activation ${JSON.stringify(name)} is not implemented`);
}

/**
 * Inverted dropout with a mask drawn from `seed` (deterministic). Returns x unchanged when rate is 0.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.tidy(() => tf.mul(x, dropoutMask(x.shape, rate, seed)));
}

/**
 * The scaled keep-mask (0 or 1/(1-rate)) of dropout, drawn in JS from the project's seeded generator (one pass, the
 * same on every backend).
 */
export function dropoutMask(shape: number[], rate: number, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const rng = new Rng(seed);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < n; i++) data[i] = rng.next() >= rate ? keep : 0;
  return tf.tensor(data, shape, "float32");
}

/**
 * Multi-head scaled dot-product attention.
 *   qkv: [batch*seq, 3*hidden], the fused query/key/value projections (heads contiguous within each).
 *   maskBias: [batch, 1, 1, seq], 0 for real tokens and a large negative number for padding keys.
 * Returns the context [batch*seq, hidden]. Attention-probability dropout is applied when `dropSeed` is given.
 *
 * The per-(sentence, head) products go through batchedMatMul.
 */
export function attention(qkv: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number, heads: number, dropRate: number, dropSeed?: number): tf.Tensor2D {
  const hidden = qkv.shape[1] / 3;
  const d = hidden / heads;
  const scale = 1 / Math.sqrt(d);
  const pairs = batch * heads;
  const f = custom((qkvIn: tf.Tensor, bias: tf.Tensor, save: tf.GradSaveFunc) => {
    // Transposes stay at rank <= 4: the wasm backend has fast kernels up to rank 4 and a slow generic one above.
    const parts = tf.tidy(() => {
      const t = tf.transpose(tf.reshape(qkvIn, [batch, seq, 3 * heads, d]), [0, 2, 1, 3]); // [batch, 3*heads, seq, d]
      const part = (i: number) => tf.reshape(tf.slice(t, [0, i * heads, 0, 0], [batch, heads, seq, d]), [pairs, seq, d]);
      const qS = tf.mul(part(0), scale); // pre-scaled: the scores need no extra pass
      const k0 = part(1);
      const v0 = part(2);
      const scores = tf.reshape(batchedMatMul(qS, k0, false, true), [batch, heads, seq, seq]);
      const p = tf.softmax(tf.add(scores, bias));
      return dropSeed !== undefined && dropRate > 0 ? [qS, k0, v0, p, dropoutMask(p.shape, dropRate, dropSeed)] : [qS, k0, v0, p];
    });
    const [q, k, v, probs] = parts;
    const mask = parts.length > 4 ? parts[4] : null;
    const pd = tf.reshape(mask ? tf.mul(probs, mask) : probs, [pairs, seq, seq]);
    const ctx = batchedMatMul(pd, v, false, false); // [pairs, seq, d]
    const value = tf.reshape(tf.transpose(tf.reshape(ctx, [batch, heads, seq, d]), [0, 2, 1, 3]), [batch * seq, hidden]);
    save(mask ? [q, k, v, probs, mask] : [q, k, v, probs]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, smask] = saved;
        const spd = tf.reshape(smask ? tf.mul(sp, smask) : sp, [pairs, seq, seq]);
        // dy [batch*seq, hidden] -> [pairs, seq, d]
        const dctx = tf.reshape(tf.transpose(tf.reshape(dy, [batch, seq, heads, d]), [0, 2, 1, 3]), [pairs, seq, d]);
        // ctx = P V: dV = P^T dctx ; dP = dctx V^T
        const dv = batchedMatMul(spd, dctx, true, false);
        let dp = tf.reshape(batchedMatMul(dctx, sv, false, true), [batch, heads, seq, seq]);
        if (smask) dp = tf.mul(dp, smask);
        // softmax backward: dS = P * (dP - sum(dP * P))
        const ds = tf.reshape(tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))), [pairs, seq, seq]);
        // scores = (s Q) K^T: dQ = s dS K ; dK = dS^T (s Q)
        const dq = tf.mul(batchedMatMul(ds, sk, false, false), scale);
        const dk = batchedMatMul(ds, sq, true, false);
        // back to the layout of qkv: [batch, 3*heads, seq, d] -> [batch, seq, 3*heads, d]
        const all = tf.concat([dq, dk, dv].map((t) => tf.reshape(t, [batch, heads, seq, d])), 1);
        const dqkv = tf.reshape(tf.transpose(all, [0, 2, 1, 3]), [batch * seq, 3 * hidden]);
        // The mask bias is an input, not a parameter: no gradient flows to it.
        return [dqkv, tf.zerosLike(bias)];
      },
    };
  });
  return f(qkv, maskBias) as tf.Tensor2D;
}

/**
 * Batched product of 3-D tensors [n, r, c]: op(a_i) op(b_i) for every i. Where the backend's batched or transposed
 * matMul is fast (native BLAS under wasm, tfjs-node, cpu) it is one call; on plain wasm it is a loop of 2-D
 * products of explicitly transposed operands (see the header).
 */
export function batchedMatMul(a: tf.Tensor, b: tf.Tensor, transA: boolean, transB: boolean): tf.Tensor3D {
  if (!slowBatchedMatMul()) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, transA, transB);
  return tf.tidy(() => {
    const as = tf.unstack(transA ? tf.transpose(a, [0, 2, 1]) : a);
    const bs = tf.unstack(transB ? tf.transpose(b, [0, 2, 1]) : b);
    return tf.stack(as.map((ai, i) => tf.matMul(ai as tf.Tensor2D, bs[i] as tf.Tensor2D))) as tf.Tensor3D;
  });
}

/** True on the wasm backend without the native matMul (its batched/transposed products are a scalar loop). */
function slowBatchedMatMul(): boolean {
  if (tf.getBackend() !== "wasm") return false;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return !(require("./native-blas") as typeof import("./native-blas")).nativeMatMulActive();
}

/** [batch, seq] 0/1 attention mask -> additive bias [batch, 1, 1, seq] (0 for keys to attend, a large negative otherwise). */
export function attentionBias(mask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, s] = mask.shape;
    // Hugging Face uses the dtype's minimum; -1e9 gives the same softmax in float32 without risking -inf - -inf.
    return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, "float32")), -1e9), [b, 1, 1, s]) as tf.Tensor4D;
  });
}
