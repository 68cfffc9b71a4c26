/**
 * Optional: matrix products of the wasm backend done by OpenBLAS (multi-threaded) through a small N-API addon
 * (lib/model/native/ftgeo_blas.c) that works directly on the wasm heap. The wasm backend runs single-threaded in
 * Node and its XNNPACK products are the bulk of BERT's time; OpenBLAS on 2 cores is measured faster.
 *
 * Build it with `node dist/lib/model/native-blas.js build` (needs gcc, Node's headers in /usr/include/node and
 * Debian's libopenblas-dev). When the addon is missing, fails to load, or FTGEO_NATIVE_BLAS=0, nothing changes and
 * the pure-wasm kernels are used. Only float32 products without fused activations go native; everything else is
 * delegated to the original wasm kernels.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FtgeoError } from "../util/errors";
import { compileAddon, nativeAddonPath, requireAddon } from "../util/native-addon";
import { buildNativeDist } from "../geometry/native-dist";
import { buildNativeOptimizer } from "../train/native-optimizer";

export interface NativeBlas {
  sgemm(heap: ArrayBuffer, batch: number, aOff: number, aStride: number, bOff: number, bStride: number, cOff: number, m: number, n: number, k: number, transA: number, transB: number, biasOff: number): void;
  /**
   * C = op(A) op(B) + beta C on plain Float32Arrays (row-major, leading dimensions in elements). Absent from
   * addons built before it existed: callers check for it.
   */
  sgemmArrays?(transA: number, transB: number, m: number, n: number, k: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): void;
  /** The classifier probe's elementwise kernels (lib/probe/kernels.ts documents each); absent from older builds. */
  probeGather?(x: Float32Array, dim: number, order: Int32Array, start: number, count: number, out: Float32Array): void;
  probeBiasAct?(out: Float32Array, rows: number, bias: Float32Array, relu: number): void;
  probeReluBackward?(delta: Float32Array, act: Float32Array, rows: number, colSum: Float32Array): void;
  probeSoftmaxXent?(z: Float32Array, rows: number, y: Int32Array, order: Int32Array, start: number, colSum: Float32Array): number;
  probeAdam?(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, alpha: number, inv: number, lrT: number): number;
  /** Masked-LM loss on the wasm heap: returns the summed loss, writes the mean loss's gradient (lib/pretrain/mlm.ts). */
  mlmSoftmaxXent?(heap: ArrayBuffer, xOff: number, labelsOff: number, gradOff: number, n: number, V: number): number;
  /**
   * Candidates for every listed row's K nearest among the other listed rows of cen (float products through sgemm,
   * with a proven margin over the exact sums; lib/geometry/agglomerate.ts): outSlots[i * C ..] and outCount[i] (-1:
   * more than C). Absent from older builds.
   */
  knncand?(cen: Float64Array, dim: number, rows: Int32Array, K: number, C: number, outSlots: Int32Array, outCount: Int32Array): void;
  threads(set?: number): number;
  gelu(heap: ArrayBuffer, xOff: number, outOff: number, n: number): void;
  geluGrad(heap: ArrayBuffer, xOff: number, dyOff: number, outOff: number, n: number): void;
}

/** Where the compiled addon lives (build output, not committed). */
export function nativeBlasPath(): string {
  return nativeAddonPath("ftgeo_blas");
}

/** Compile the addon with gcc against OpenBLAS; returns its path. Throws with the compiler's message on failure. */
export function buildNativeBlas(): string {
  const cblasDirs = ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/aarch64-linux-gnu/openblas-pthread", "/usr/include/openblas", "/usr/include"];
  const cblas = cblasDirs.find((d) => fs.existsSync(path.join(d, "cblas.h")));
  if (!cblas) throw new FtgeoError("native BLAS: cblas.h not found (install libopenblas-dev)");
  return compileAddon({
    name: "ftgeo_blas",
    what: "native BLAS",
    source: path.join("lib", "model", "native", "ftgeo_blas.c"),
    flags: ["-O3", "-march=native", "-ffast-math"],
    includes: [cblas],
    libs: ["-lopenblas", "-lm"],
  });
}

let loaded: NativeBlas | null | undefined;

/** The addon, or null when it is not built, does not load, or FTGEO_NATIVE_BLAS=0. */
export function loadNativeBlas(): NativeBlas | null {
  if (loaded !== undefined) return loaded;
  loaded = requireAddon<NativeBlas>("ftgeo_blas", "native BLAS", "the wasm kernels");
  const threads = Number(process.env.FTGEO_BLAS_THREADS ?? "");
  if (loaded && Number.isInteger(threads) && threads > 0) loaded.threads(threads);
  return loaded;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  wasm: { HEAPU8: Uint8Array };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };

/**
 * C = op(A) op(B) (+ bias) natively, or null when the case is not handled (then the caller uses the wasm kernel).
 * Handles rank >= 2 operands whose batch dimensions are equal or one of them is 1.
 */
function nativeProduct(blas: NativeBlas, args: KernelArgs, bias: tf.TensorInfo | undefined): tf.TensorInfo | null {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const transA = args.attrs.transposeA === true;
  const transB = args.attrs.transposeB === true;
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || m === 0 || n === 0 || k === 0) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1);
  const batchB = outerB.reduce((x, y) => x * y, 1);
  // Equal batches, or one operand shared by every batch entry; other broadcasts go to the wasm kernel.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (batchA === batchB && batchA > 1 && outerA.join() !== outerB.join()) return null;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  if (bias && tf.util.sizeFromShape(bias.shape) !== n) return null;
  if (bias && bias.dtype !== "float32") return null;
  const batch = Math.max(batchA, batchB);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput([...outer, m, n], "float32");
  const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  blas.sgemm(
    backend.wasm.HEAPU8.buffer as ArrayBuffer,
    batch,
    off(a),
    batchA === 1 ? 0 : m * k * 4,
    off(b),
    batchB === 1 ? 0 : k * n * 4,
    off(out),
    m,
    n,
    k,
    transA ? 1 : 0,
    transB ? 1 : 0,
    bias ? off(bias) : -1,
  );
  return out;
}

let registered = false;

/** Route the wasm backend's BatchMatMul and _FusedMatMul (linear activation) to OpenBLAS. Returns false if unavailable. */
export function registerNativeMatMul(): boolean {
  if (registered) return true;
  const blas = loadNativeBlas();
  if (!blas) return false;
  const swap = (name: string, makeFunc: (orig: tf.KernelFunc) => tf.KernelFunc) => {
    const orig = tf.getKernel(name, "wasm");
    if (!orig) throw new Error(`native BLAS: wasm kernel ${name} is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", setupFunc: orig.setupFunc, disposeFunc: orig.disposeFunc, kernelFunc: makeFunc(orig.kernelFunc) });
  };
  swap("BatchMatMul", (orig) => ((args: KernelArgs) => nativeProduct(blas, args, undefined) ?? orig(args as never)) as unknown as tf.KernelFunc);
  swap("_FusedMatMul", (orig) =>
    ((args: KernelArgs) => {
      const act = args.attrs.activation as string | undefined;
      if ((act === undefined || act === "linear") && !args.inputs.preluActivationWeights) {
        const r = nativeProduct(blas, args, args.inputs.bias as tf.TensorInfo | undefined);
        if (r) return r;
      }
      return orig(args as never);
    }) as unknown as tf.KernelFunc,
  );
  const off = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const heap = (backend: WasmBackendLike) => backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const wasmKernel = <K extends string>(kernelName: string, f: (backend: WasmBackendLike, inputs: Record<K, tf.TensorInfo>) => tf.TensorInfo | tf.TensorInfo[]) =>
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ((args: KernelArgs) => f(args.backend as WasmBackendLike, args.inputs as Record<K, tf.TensorInfo>)) as unknown as tf.KernelFunc,
    });
  if (typeof blas.gelu === "function" && typeof blas.geluGrad === "function") {
    wasmKernel<"x">(GELU_KERNEL, (backend, { x }) => {
      const out = backend.makeOutput(x.shape.slice(), "float32");
      blas.gelu(heap(backend), off(backend, x), off(backend, out), tf.util.sizeFromShape(x.shape));
      return out;
    });
    wasmKernel<"x" | "dy">(GELU_GRAD_KERNEL, (backend, { x, dy }) => {
      const out = backend.makeOutput(x.shape.slice(), "float32");
      blas.geluGrad(heap(backend), off(backend, x), off(backend, dy), off(backend, out), tf.util.sizeFromShape(x.shape));
      return out;
    });
    geluRegistered = true;
  }
  if (typeof blas.mlmSoftmaxXent === "function") {
    const xent = blas.mlmSoftmaxXent.bind(blas);
    wasmKernel<"x" | "labels">(MLM_XENT_KERNEL, (backend, { x, labels }) => {
      const [n, V] = x.shape;
      if (x.dtype !== "float32" || labels.dtype !== "int32" || x.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== n) {
        throw new Error(`${MLM_XENT_KERNEL}: expected float32 logits [n, V] and int32 labels [n], got ${x.dtype} [${x.shape}] and ${labels.dtype} [${labels.shape}]`);
      }
      const grad = backend.makeOutput([n, V], "float32");
      const sum = xent(heap(backend), off(backend, x), off(backend, labels), off(backend, grad), n, V);
      const loss = backend.makeOutput([], "float32");
      (backend.typedArrayFromHeap(loss) as Float32Array)[0] = sum / n;
      return [loss, grad];
    });
    mlmXentRegistered = true;
  }
  registered = true;
  return true;
}

/**
 * Kernel name of the native masked-LM loss: inputs x (logits [n, V]) and labels (int32 [n]); outputs the mean
 * cross-entropy and its gradient with respect to x (registered for wasm only, with the addon).
 */
export const MLM_XENT_KERNEL = "FtgeoMlmSoftmaxXent";
let mlmXentRegistered = false;

/** True when MLM_XENT_KERNEL can run on the active backend. */
export function nativeMlmXentActive(): boolean {
  return mlmXentRegistered && tf.getBackend() === "wasm";
}

/** Kernel names of the native exact GELU and its gradient (registered for wasm only, with the addon). */
export const GELU_KERNEL = "FtgeoGeluErf";
export const GELU_GRAD_KERNEL = "FtgeoGeluErfGrad";
let geluRegistered = false;

/** True when GELU_KERNEL / GELU_GRAD_KERNEL can run on the active backend. */
export function nativeGeluActive(): boolean {
  return geluRegistered && tf.getBackend() === "wasm";
}

export function nativeMatMulActive(): boolean {
  return registered;
}

if (require.main === module) {
  const cmd = process.argv[2];
  if (cmd === "build") {
    const file = buildNativeBlas();
    console.log(`built ${file}`);
    console.log(`built ${buildNativeDist()}`);
    console.log(`built ${buildNativeOptimizer()}`);
  } else {
    console.error("usage: node dist/lib/model/native-blas.js build");
    process.exitCode = 2;
  }
}
