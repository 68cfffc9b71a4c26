/**
 * The numerical kernels of the classifier probe, on plain Float32Arrays the probe owns, in order of preference:
 * - native: OpenBLAS's sgemm and C loops through the optional addon (lib/model/native-blas.ts,
 *   lib/model/native/ftgeo_blas.c);
 * - wasm: without the addon, the products on tfjs's wasm backend (XNNPACK, SIMD; one upload of each operand per
 *   product) and JavaScript loops for the rest;
 * - js: everything in JavaScript (a blocked product without SIMD: 30-50x slower than OpenBLAS on the products);
 *   the independent reference of the tests, and the last resort when no wasm backend runs.
 *
 * Why not tfjs: the probe's products are small (a minibatch of 200 rows times layers of 32..1536 units) and a
 * training runs ~10^5 steps of eight products each; per step, tfjs cost a tensor upload per weight matrix and
 * ~20 kernel launches, which dominated the arithmetic. Why C for the elementwise work too: at these sizes a
 * JavaScript loop over the activations or the Adam state (~3 ns per element here) costs as much as the products.
 *
 * FTGEO_PROBE_KERNELS=native|wasm|js forces one; FTGEO_NATIVE_BLAS=0 disables the addon and so the native kernels.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../model/backend";
import { loadNativeBlas, type NativeBlas } from "../model/native-blas";
import { FtgeoError } from "../util/errors";

export interface ProbeKernels {
  /** "native" (OpenBLAS + C), "wasm" (tfjs wasm products + JavaScript) or "js". */
  readonly name: string;
  /**
   * C = op(A) op(B) (+ C when accumulate), dense row-major: C is [m, n]; A is [m, k], or [k, m] when transA;
   * B is [k, n], or [n, k] when transB. The arrays may be longer than needed (only the leading part is used).
   */
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, accumulate?: boolean): void;
  /** out[i, :] = x[order[start + i], :] for i < count (rows of width dim). */
  gather(x: Float32Array, dim: number, order: Int32Array, start: number, count: number, out: Float32Array): void;
  /** out[i, j] = act(out[i, j] + bias[j]) for the leading rows x bias.length block; act = ReLU or identity. */
  biasAct(out: Float32Array, rows: number, bias: Float32Array, relu: boolean): void;
  /** Back through a ReLU: delta *= [act > 0], and colSum[j] = sum_i delta[i, j] (rows x colSum.length block). */
  reluBackward(delta: Float32Array, act: Float32Array, rows: number, colSum: Float32Array): void;
  /**
   * z (rows x K logits, K = colSum.length) becomes softmax(z) - onehot(y[order[start + i]]) and colSum its column
   * sums; returns the summed cross-entropy, probabilities clipped to [eps, 1 - eps] of float32 (sklearn's
   * log_loss).
   */
  softmaxXent(z: Float32Array, rows: number, y: Int32Array, order: Int32Array, start: number, colSum: Float32Array): number;
  /**
   * Adam (betas 0.9 / 0.999, eps 1e-8) on w with sklearn's gradient (g + alpha w) * inv and the bias-corrected
   * step size lrT; m and v are the moments. Returns sum(w^2) before the update (the step's L2 term).
   */
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, alpha: number, inv: number, lrT: number): number;
}

/** dst[j * rows + i] = src[i * cols + j] for the leading rows x cols block of src. */
export function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  // Tiles of 32 x 32 keep both the reads and the writes within a few cache lines.
  for (let i0 = 0; i0 < rows; i0 += 32) {
    const i1 = Math.min(rows, i0 + 32);
    for (let j0 = 0; j0 < cols; j0 += 32) {
      const j1 = Math.min(cols, j0 + 32);
      for (let i = i0; i < i1; i++) {
        const o = i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[o + j];
      }
    }
  }
}

/**
 * C[m, n] (+)= A[m, k] B[k, n], all dense. Four rows of C at a time: each element of B read serves four
 * multiply-adds, and the four C rows (at most a few KB for the probe's widths) stay in L1 across the k loop.
 * Rows of A that are zero at some p (ReLU outputs: about half) skip that row of B.
 */
function gemmNN(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, accumulate: boolean): void {
  if (!accumulate) c.fill(0, 0, m * n);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const r0 = i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    for (let p = 0; p < k; p++) {
      const a0 = a[r0 + p];
      const a1 = a[r1 + p];
      const a2 = a[r2 + p];
      const a3 = a[r3 + p];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bo + j];
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const c0 = i * n;
    const r0 = i * k;
    for (let p = 0; p < k; p++) {
      const a0 = a[r0 + p];
      if (a0 === 0) continue;
      const bo = p * n;
      for (let j = 0; j < n; j++) c[c0 + j] += a0 * b[bo + j];
    }
  }
}

const F32_EPS = 1.1920929e-7;

/** The JavaScript kernels (transposed operands of a product are copied to row-major first: O(size) work). */
export function jsKernels(): ProbeKernels {
  let scratchA = new Float32Array(0);
  let scratchB = new Float32Array(0);
  return {
    name: "js",
    gemm(transA, transB, m, n, k, a, b, c, accumulate = false) {
      let aa = a;
      let bb = b;
      if (transA) {
        if (scratchA.length < m * k) scratchA = new Float32Array(m * k);
        transposeInto(a, k, m, scratchA);
        aa = scratchA;
      }
      if (transB) {
        if (scratchB.length < k * n) scratchB = new Float32Array(k * n);
        transposeInto(b, n, k, scratchB);
        bb = scratchB;
      }
      gemmNN(m, n, k, aa, bb, c, accumulate);
    },
    gather(x, dim, order, start, count, out) {
      for (let i = 0; i < count; i++) {
        const r = order[start + i];
        out.set(x.subarray(r * dim, (r + 1) * dim), i * dim);
      }
    },
    biasAct(out, rows, bias, relu) {
      const cols = bias.length;
      for (let i = 0, o = 0; i < rows; i++, o += cols) {
        for (let j = 0; j < cols; j++) {
          const v = out[o + j] + bias[j];
          out[o + j] = relu && v < 0 ? 0 : v;
        }
      }
    },
    reluBackward(delta, act, rows, colSum) {
      const cols = colSum.length;
      colSum.fill(0);
      for (let i = 0, o = 0; i < rows; i++, o += cols) {
        for (let j = 0; j < cols; j++) {
          if (act[o + j] > 0) colSum[j] += delta[o + j];
          else delta[o + j] = 0;
        }
      }
    },
    softmaxXent(z, rows, y, order, start, colSum) {
      const K = colSum.length;
      colSum.fill(0);
      let loss = 0;
      for (let i = 0, o = 0; i < rows; i++, o += K) {
        let mx = -Infinity;
        for (let k = 0; k < K; k++) if (z[o + k] > mx) mx = z[o + k];
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const e = Math.exp(z[o + k] - mx);
          z[o + k] = e;
          sum += e;
        }
        for (let k = 0; k < K; k++) z[o + k] /= sum;
        const yi = y[order[start + i]];
        loss -= Math.log(Math.min(1 - F32_EPS, Math.max(F32_EPS, z[o + yi])));
        z[o + yi] -= 1;
        for (let k = 0; k < K; k++) colSum[k] += z[o + k];
      }
      return loss;
    },
    adam(w, g, m, v, alpha, inv, lrT) {
      let sq = 0;
      for (let i = 0; i < w.length; i++) {
        const wi = w[i];
        sq += wi * wi;
        const gi = (g[i] + alpha * wi) * inv;
        const mi = 0.9 * m[i] + 0.1 * gi;
        const vi = 0.999 * v[i] + 0.001 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - (lrT * mi) / (Math.sqrt(vi) + 1e-8);
      }
      return sq;
    },
  };
}

type NativeProbe = Required<Pick<NativeBlas, "sgemmArrays" | "probeGather" | "probeBiasAct" | "probeReluBackward" | "probeSoftmaxXent" | "probeAdam">>;

/** The native kernels, or null when the addon (or its probe entry points: an older build) is not available. */
export function nativeKernels(): ProbeKernels | null {
  const blas = loadNativeBlas();
  if (!blas) return null;
  const names = ["sgemmArrays", "probeGather", "probeBiasAct", "probeReluBackward", "probeSoftmaxXent", "probeAdam"] as const;
  if (names.some((f) => typeof blas[f] !== "function")) return null;
  const b = blas as NativeBlas & NativeProbe;
  return {
    name: "native",
    gemm(transA, transB, m, n, k, a, bm, c, accumulate = false) {
      b.sgemmArrays(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, transA ? m : k, bm, transB ? k : n, accumulate ? 1 : 0, c, n);
    },
    gather: (x, dim, order, start, count, out) => b.probeGather(x, dim, order, start, count, out),
    biasAct: (out, rows, bias, relu) => b.probeBiasAct(out, rows, bias, relu ? 1 : 0),
    reluBackward: (delta, act, rows, colSum) => b.probeReluBackward(delta, act, rows, colSum),
    softmaxXent: (z, rows, y, order, start, colSum) => b.probeSoftmaxXent(z, rows, y, order, start, colSum),
    adam: (w, g, m, v, alpha, inv, lrT) => b.probeAdam(w, g, m, v, alpha, inv, lrT),
  };
}

/**
 * The wasm kernels: JavaScript loops, products on tfjs's wasm backend; null when the active tfjs backend is not
 * wasm. Transposed operands are copied in JavaScript first (a matMul with a transposed operand is a scalar loop
 * on tfjs wasm); every product uploads fresh tensors (XNNPACK caches a packed copy per right-hand tensor, so a
 * tensor must never change in place).
 */
export async function wasmKernels(): Promise<ProbeKernels | null> {
  await initBackend();
  if (tf.getBackend() !== "wasm") return null;
  const js = jsKernels();
  let scratchA = new Float32Array(0);
  let scratchB = new Float32Array(0);
  return {
    ...js,
    name: "wasm",
    gemm(transA, transB, m, n, k, a, b, c, accumulate = false) {
      let aa = a.subarray(0, m * k);
      let bb = b.subarray(0, k * n);
      if (transA) {
        if (scratchA.length < m * k) scratchA = new Float32Array(m * k);
        transposeInto(a, k, m, scratchA);
        aa = scratchA.subarray(0, m * k);
      }
      if (transB) {
        if (scratchB.length < k * n) scratchB = new Float32Array(k * n);
        transposeInto(b, n, k, scratchB);
        bb = scratchB.subarray(0, k * n);
      }
      const r = tf.tidy(() => tf.matMul(tf.tensor2d(aa, [m, k]), tf.tensor2d(bb, [k, n])));
      const out = r.dataSync() as Float32Array;
      r.dispose();
      if (!accumulate) c.set(out);
      else for (let i = 0; i < m * n; i++) c[i] += out[i];
    },
  };
}

const KERNEL_NAMES = ["native", "wasm", "js"];

/** The probe's kernels: native when available, else wasm, else JavaScript; FTGEO_PROBE_KERNELS forces one. */
export async function probeKernels(): Promise<ProbeKernels> {
  const forced = process.env.FTGEO_PROBE_KERNELS;
  if (forced !== undefined && forced !== "" && !KERNEL_NAMES.includes(forced)) {
    throw new FtgeoError(`environment variable FTGEO_PROBE_KERNELS is ${JSON.stringify(forced)}; expected one of ${KERNEL_NAMES.join(", ")}`);
  }
  if (forced === "js") return jsKernels();
  if (!forced || forced === "native") {
    const native = nativeKernels();
    if (native) return native;
    if (forced) throw new FtgeoError("FTGEO_PROBE_KERNELS=native, but the native addon (with its probe kernels) is not available: run `npm run build:native`, and leave FTGEO_NATIVE_BLAS unset");
  }
  const wasm = await wasmKernels();
  if (wasm) return wasm;
  if (forced) throw new FtgeoError(`FTGEO_PROBE_KERNELS=wasm, but the tfjs backend is ${tf.getBackend()}`);
  return jsKernels();
}
