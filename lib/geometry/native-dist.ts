/**
 * Optional native kernels (lib/geometry/native/ftgeo_dist.c), built next to the BLAS addon by `npm run
 * build:native`: squared distances for centroid linkage and row projections for the overlap checks. Their results
 * are bit-identical to the JS loops they replace (same summation order, no fast-math, no fused multiply-add), so
 * using them never changes a merge or a hull decision; they only make the scans faster. Missing, failing to load, or FTGEO_NATIVE_BLAS=0: null, and the JS loop is used.
 */
import * as path from "node:path";
import * as os from "node:os";
import { argError } from "../util/errors";
import { compileAddon, nativeAddonPath, requireAddon } from "../util/native-addon";

export interface NativeDist {
  /** out[t - start] = squared distance between rows q and rows[t] of cen (row length dim, even), start <= t < end. */
  sqdists(cen: Float64Array, dim: number, q: number, rows: Int32Array, start: number, end: number, out: Float64Array): void;
  /** out[t] = row rows[t] of data . y, summed as matrix.dotRow sums (bit-identical). */
  dotrows(data: Float32Array, dim: number, rows: Int32Array, y: Float64Array, out: Float64Array): void;
  /** min (wantMin) or max of start and each row rows[t] . w, summed as matrix.dotRow sums (bit-identical). */
  extremedot(data: Float32Array, dim: number, rows: Int32Array, w: Float64Array, wantMin: boolean, start: number, stop: number): number;
  /**
   * out[i] = extremedot(data, dim, rows, ws[i], wantMin[i] !== 0, starts[i], stops[i]) for i < k: one call for many
   * vectors (absent from older builds).
   */
  extremebatch?(data: Float32Array, dim: number, rows: Int32Array, ws: Float64Array[], k: number, wantMin: Int32Array, starts: Float64Array, stops: Float64Array, out: Float64Array): void;
  /** Threads of the long-input kernels (sphere scan, row projections, extremes); sets them first when given (absent from older builds). */
  threads?(n?: number): number;
  /** max of start and each row rows[t]'s squared distance from centre, summed as overlap.ts's sqDistFromCentre (bit-identical). */
  maxsqdist?(data: Float32Array, dim: number, rows: Int32Array, centre: Float64Array, start: number): number;
  /**
   * SpherePool's scan up to the partial distance (overlap.ts scanPool; proj direction-major, rows of `stride`), block
   * by block (`block` slots each, with the pool's bounds bLo..bLabel, labelCap labels per block), skipping dead slots
   * (label < 0); returns how many slots are left in outSlot, outCd2 (absent from older builds).
   */
  blockscan?(
    centres: Float64Array,
    radii: Float64Array,
    labels: Int32Array,
    proj: Float64Array,
    norms: Float64Array,
    size: number,
    dim: number,
    nd: number,
    stride: number,
    c: Float64Array,
    rc: number,
    label: number,
    pc: Float64Array,
    nc: number,
    outSlot: Int32Array,
    outCd2: Float64Array,
    counts: Float64Array,
    resids: Float64Array,
    rcRes: number,
    bLo: Float64Array,
    bHi: Float64Array,
    bRad: Float64Array,
    bNorm: Float64Array,
    bLive: Int32Array,
    bLabel: Int32Array,
    labelCap: number,
    block: number,
  ): number;
  /** intervals.ts's test over blockscan's output: drops the slots whose intervals are apart; returns how many are kept. */
  ivfilter?(
    iv: Float64Array,
    D: number,
    labels: Int32Array,
    radii: Float64Array,
    slots: Int32Array,
    cd2s: Float64Array,
    n: number,
    civ: Float64Array,
    rc: number,
    firstDir: Int32Array,
    tol: number,
    err: number,
  ): number;
  /**
   * agglomerate.ts's scan of a label list, exact distances only where a float32 estimate cannot rule them out, maybe
   * a few more when split into parts (ftgeo_dist.c).
   */
  mergescan?(
    cen: Float64Array,
    cen32: Float32Array,
    dim: number,
    q: number,
    list: Int32Array,
    len: number,
    norms: Float64Array,
    nnId: Float64Array,
    mind: Float64Array,
    radius: Float64Array,
    K: number,
    aId: number,
    bId: number,
    mode: number,
    mark: Int32Array,
    outPos: Int32Array,
    outD: Float64Array,
    /** At most this many parts on threads (1: this thread only). */
    threads: number,
  ): number;
  /** sum[k] += x_k of each listed row, rows in order (absent from older builds). */
  addrows?(data: Float32Array, dim: number, rows: Int32Array, sum: Float64Array): void;
  /** start + the sum of (x_k - shift_k)^2 over the listed rows and their coordinates, in order, in one accumulator. */
  sqdevsum(data: Float32Array, dim: number, rows: Int32Array, shift: Float64Array, start: number): number;
  /** p (sides[i] > 0, rows of dataA) or q (of dataB) += weights[i] * row rows[i], for i in order (corral.ts). */
  combine(dataA: Float32Array, dataB: Float32Array, dim: number, rows: Int32Array, weights: Float64Array, sides: Int32Array, p: Float64Array, q: Float64Array): void;
  /** Corral.add's lifted products and forward substitution (corral.ts); returns r.r, r in place. */
  corraladd(flat: Float64Array, k: number, dim: number, x: Float64Array, sides: Int32Array, side: number, lift: number, R: Float64Array, cap: number, r: Float64Array): number;
}

export function nativeDistPath(): string {
  return nativeAddonPath("ftgeo_dist");
}

/** Compiles the kernel with gcc (needs Node's headers); returns its path. Throws with the compiler's message. */
export function buildNativeDist(): string {
  // No -ffast-math and no contraction: the sums must round exactly as the JS loop's do.
  return compileAddon({
    name: "ftgeo_dist",
    what: "native distances",
    source: path.join("lib", "geometry", "native", "ftgeo_dist.c"),
    flags: ["-O3", "-march=native", "-fno-fast-math", "-ffp-contract=off", "-pthread"],
  });
}

let loaded: NativeDist | null | undefined;

export function loadNativeDist(): NativeDist | null {
  if (loaded === undefined) {
    loaded = requireAddon<NativeDist>("ftgeo_dist", "native distance kernel", "the JS loop");
    // The sphere scans over large pools and the projections of large clusters (most of checked merging on full POS)
    // split across cores.
    const asked = process.env.FTGEO_DIST_THREADS;
    const n = asked !== undefined && asked !== "" ? Number(asked) : Math.min(4, os.availableParallelism());
    if (!Number.isInteger(n) || n < 1 || n > 8) throw argError("FTGEO_DIST_THREADS", `expected an integer from 1 to 8, got ${JSON.stringify(asked)}`);
    loaded?.threads?.(n);
  }
  return loaded;
}
