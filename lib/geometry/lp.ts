/**
 * The linear program that decides whether two convex hulls overlap, solved with HiGHS (wasm, npm `highs`).
 *
 * We solve the always-feasible form  min ||p - q||_1  over p in hull(A), q in hull(B)
 * (variables: convex weights lambda, mu and the split gap s+ - s-), rather than the reference's feasibility
 * LP "w.a + b >= 1, w.b' + b <= -1": HiGHS sometimes ends with status "unknown" on that one at 768
 * dimensions, while this form always has an optimum. Its value is 0 exactly when the hulls intersect, and
 * it bounds the Euclidean hull distance from above (||.||_2 <= ||.||_1). The support of an optimal
 * (lambda, mu) is a small witness: any supersets of those points overlap too.
 */
import { FtgeoError } from "../util/errors";
import { Matrix } from "./matrix";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type HighsRuntime = any;

let runtime: HighsRuntime | undefined;
let extraOptions: Record<string, unknown> = {};

/** Extra HiGHS options for every solve (for benchmarking solver strategies). */
export function setLpOptions(options: Record<string, unknown>): void {
  extraOptions = { ...options };
}
let loading: Promise<HighsRuntime> | undefined;

/** Loads the HiGHS wasm runtime once; call (and await) before any LP solve. */
export async function initLp(): Promise<void> {
  if (runtime) return;
  if (!loading) {
    loading = (async () => {
      let loader: (opts?: object) => Promise<HighsRuntime>;
      try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        loader = require("highs");
      } catch (e) {
        throw new FtgeoError(`the LP solver package "highs" is not installed (npm install highs@1.15): ${(e as Error).message}`);
      }
      return loader();
    })();
  }
  runtime = await loading;
}

export function lpReady(): boolean {
  return runtime !== undefined;
}

export interface HullLpResult {
  /** Optimal L1 gap min ||p - q||_1 (0 when the hulls overlap). */
  gap: number;
  /** Convex weights of A's and B's points at the optimum (same order as the row lists). */
  lambda: Float64Array;
  mu: Float64Array;
  seconds: number;
}

/**
 * Solves min ||p - q||_1 for p in hull(rows a of m), q in hull(rows b of m).
 * Throws if HiGHS does not reach optimality (this LP is always feasible and bounded, so that is a solver failure).
 */
export function hullGapLp(m: Matrix, a: ArrayLike<number>, b: ArrayLike<number>, timeLimitSeconds = 600): HullLpResult {
  if (!runtime) throw new FtgeoError("hullGapLp: the LP runtime is not loaded; await initLp() first");
  const t0 = performance.now();
  const dim = m.dim;
  const nA = a.length;
  const nB = b.length;
  // Centre the coordinates: the objective is translation invariant (both weight vectors sum to 1) and
  // centred coefficients are better conditioned.
  const centre = new Float64Array(dim);
  for (const rows of [a, b]) {
    for (let i = 0; i < rows.length; i++) {
      const off = rows[i] * dim;
      for (let k = 0; k < dim; k++) centre[k] += m.data[off + k];
    }
  }
  for (let k = 0; k < dim; k++) centre[k] /= nA + nB;

  const numCols = nA + nB + 2 * dim;
  const numRows = dim + 2;
  const starts = new Int32Array(numCols + 1);
  const nnzMax = (nA + nB) * (dim + 1) + 2 * dim;
  const indices = new Int32Array(nnzMax);
  const values = new Float64Array(nnzMax);
  let nnz = 0;
  let col = 0;
  const addPointColumn = (r: number, sign: number, sumRow: number): void => {
    starts[col++] = nnz;
    const off = r * dim;
    for (let k = 0; k < dim; k++) {
      const v = (m.data[off + k] - centre[k]) * sign;
      if (v !== 0) {
        indices[nnz] = k;
        values[nnz++] = v;
      }
    }
    indices[nnz] = sumRow;
    values[nnz++] = 1;
  };
  for (let i = 0; i < nA; i++) addPointColumn(a[i], 1, dim);
  for (let j = 0; j < nB; j++) addPointColumn(b[j], -1, dim + 1);
  for (let k = 0; k < dim; k++) {
    starts[col++] = nnz; // s+_k
    indices[nnz] = k;
    values[nnz++] = -1;
  }
  for (let k = 0; k < dim; k++) {
    starts[col++] = nnz; // s-_k
    indices[nnz] = k;
    values[nnz++] = 1;
  }
  starts[col] = nnz;

  const colCost = new Float64Array(numCols);
  for (let c = nA + nB; c < numCols; c++) colCost[c] = 1;
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols).fill(runtime.infinity);
  const rowLower = new Float64Array(numRows);
  const rowUpper = new Float64Array(numRows);
  rowLower[dim] = rowUpper[dim] = 1;
  rowLower[dim + 1] = rowUpper[dim + 1] = 1;

  const model = runtime.createModel();
  try {
    model.passModel({
      numCols,
      numRows,
      colCost,
      colLower,
      colUpper,
      rowLower,
      rowUpper,
      matrix: { format: "csc", numRows, numCols, starts, indices: indices.subarray(0, nnz), values: values.subarray(0, nnz) },
    });
    model.options.set({ output_flag: false, time_limit: timeLimitSeconds, ...extraOptions });
    model.run();
    const status = model.getModelStatus();
    if (status !== 7) {
      throw new FtgeoError(`hullGapLp: HiGHS ended with model status ${status} (expected 7, optimal) on ${nA} vs ${nB} points in ${dim} dimensions`);
    }
    const x: Float64Array = model.getSolution().colValue;
    return {
      gap: Math.max(0, model.getObjectiveValue()),
      lambda: x.slice(0, nA),
      mu: x.slice(nA, nA + nB),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    model.dispose();
  }
}
