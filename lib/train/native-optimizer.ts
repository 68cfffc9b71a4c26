/**
 * Optional native optimizer kernels (lib/train/native/ftgeo_train.c), built with the other addons by
 * `npm run build:native`. They compute exactly what optimizer.ts's JavaScript loops compute (same double
 * operations in the same order; the tests compare bits), several times faster: Adam over BERT-tiny's 4.4M weights
 * is otherwise ~75 ms of every update. Missing, failing to load, or FTGEO_NATIVE_BLAS=0: null, and the loops run.
 */
import * as path from "node:path";
import { compileAddon, requireAddon } from "../util/native-addon";

export interface NativeOptimizer {
  /** s0 + the sum of g[i]^2, in double, in index order. */
  sumSquares(g: Float32Array, s0: number): number;
  /** One Adam(W) update in place (see adamKernel in optimizer.ts for the meaning of each number). */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, gScale: number, b1: number, b2: number, c1: number, c2: number, bc2Sqrt: number, eps: number, stepSize: number, shrink: number): void;
}

/** Compiles the kernels with gcc (needs Node's headers); returns the addon's path. Throws with the compiler's message. */
export function buildNativeOptimizer(): string {
  return compileAddon({
    name: "ftgeo_train",
    what: "native optimizer",
    source: path.join("lib", "train", "native", "ftgeo_train.c"),
    // No -ffast-math and no contraction: every rounding as in JavaScript. See the C file for the other two flags.
    flags: ["-O3", "-march=native", "-fno-fast-math", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"],
    libs: ["-lm"],
  });
}

let loaded: NativeOptimizer | null | undefined;

/** The addon, or null (not built, does not load, or FTGEO_NATIVE_BLAS=0). */
export function nativeOptimizer(): NativeOptimizer | null {
  if (loaded === undefined) loaded = requireAddon<NativeOptimizer>("ftgeo_train", "native optimizer", "the JavaScript loops");
  return loaded;
}
