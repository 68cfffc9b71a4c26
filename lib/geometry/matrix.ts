/**
 * Dense row-major point matrices (float32 storage, as the representation store writes them) and the few
 * vector kernels the geometry code needs. Arithmetic that feeds a decision (distances, projections) is done
 * in float64 even though the storage is float32.
 */
import { argError } from "../util/errors";
import { loadNativeDist, NativeDist } from "./native-dist";

export interface Matrix {
  /** Number of rows (points). */
  n: number;
  /** Number of columns (dimensions). */
  dim: number;
  /** n * dim values, row-major. */
  data: Float32Array;
}

export function makeMatrix(n: number, dim: number, data?: Float32Array): Matrix {
  if (!Number.isInteger(n) || n < 0) throw argError("n", `expected a non-negative integer, got ${n}`);
  if (!Number.isInteger(dim) || dim < 1) throw argError("dim", `expected a positive integer, got ${dim}`);
  const d = data ?? new Float32Array(n * dim);
  if (d.length !== n * dim) throw argError("data", `expected ${n} x ${dim} = ${n * dim} values, got ${d.length}`);
  return { n, dim, data: d };
}

/** Builds a matrix from rows of equal length (arrays or typed arrays). */
export function fromRows(rows: ArrayLike<number>[], dim?: number): Matrix {
  const width = dim ?? (rows.length > 0 ? rows[0].length : 0);
  if (rows.length === 0 && width === 0) throw argError("rows", "no rows and no dim given");
  const m = makeMatrix(rows.length, width);
  rows.forEach((r, i) => {
    if (r.length !== width) throw argError(`rows[${i}]`, `expected ${width} values, got ${r.length}`);
    for (let k = 0; k < width; k++) m.data[i * width + k] = r[k];
  });
  return m;
}

/** A view of row i (no copy). */
export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.dim, (i + 1) * m.dim);
}

/** Copies the listed rows into a new matrix. */
export function selectRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const out = makeMatrix(rows.length, m.dim);
  for (let i = 0; i < rows.length; i++) out.data.set(row(m, rows[i]), i * m.dim);
  return out;
}

/** x . y for row i of m (float64 accumulation). */
export function dotRow(m: Matrix, i: number, y: Float64Array): number {
  const data = m.data;
  const dim = m.dim;
  let off = i * dim;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < dim; k += 4, off += 4) {
    s0 += data[off] * y[k];
    s1 += data[off + 1] * y[k + 1];
    s2 += data[off + 2] * y[k + 2];
    s3 += data[off + 3] * y[k + 3];
  }
  for (; k < dim; k++, off++) s0 += data[off] * y[k];
  return s0 + s1 + s2 + s3;
}

/**
 * out[i] = (row rows[i] of m) . z for every listed row: dotRow's sums, so the same numbers everywhere (the native
 * kernel, when built, sums in dotRow's order: bit-identical; it serves lists of rows long enough to pay the call).
 */
export function projectRows(m: Matrix, rows: ArrayLike<number>, z: Float64Array, out: Float64Array): void {
  if (rows.length >= 8 && rows instanceof Int32Array) {
    const native = nativeProjections();
    if (native) return native.dotrows(m.data, m.dim, rows, z, out);
  }
  for (let i = 0; i < rows.length; i++) out[i] = dotRow(m, rows[i], z);
}

/**
 * The min (wantMin) or max of `start` and every listed row . w, each summed as dotRow sums. With `stop`, returns as
 * soon as that value is <= stop (wantMin) or >= stop, in row order: a caller that only needs to know whether the
 * extreme stays beyond `stop` then projects the rows up to the first one that crosses it.
 */
export function extremeProjection(m: Matrix, rows: Int32Array, w: Float64Array, wantMin: boolean, start: number, stop = wantMin ? -Infinity : Infinity): number {
  const native = rows.length >= 4 ? nativeProjections() : null;
  if (native) return native.extremedot(m.data, m.dim, rows, w, wantMin, start, stop);
  let best = start;
  for (let i = 0; i < rows.length; i++) {
    const s = dotRow(m, rows[i], w);
    if (wantMin) {
      if (s < best) best = s;
      if (best <= stop) break;
    } else {
      if (s > best) best = s;
      if (best >= stop) break;
    }
  }
  return best;
}

/** The native projection kernels, if built (an addon built before they existed has only sqdists: then none). */
function nativeProjections(): NativeDist | null {
  const native = loadNativeDist();
  return native && typeof native.dotrows === "function" && typeof native.extremedot === "function" ? native : null;
}

/** Dot product of rows i and j of m. */
export function dotRows(m: Matrix, i: number, j: number): number {
  const data = m.data;
  const dim = m.dim;
  let a = i * dim;
  let b = j * dim;
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < dim; k += 2, a += 2, b += 2) {
    s0 += data[a] * data[b];
    s1 += data[a + 1] * data[b + 1];
  }
  if (k < dim) s0 += data[a] * data[b];
  return s0 + s1;
}

/** Squared Euclidean distance between row i of m and a float64 vector. */
export function sqDistRow(m: Matrix, i: number, y: Float64Array): number {
  const data = m.data;
  const dim = m.dim;
  const off = i * dim;
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const t = data[off + k] - y[k];
    s += t * t;
  }
  return s;
}

export function sqDist(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < x.length; k++) {
    const t = x[k] - y[k];
    s += t * t;
  }
  return s;
}

export function dot(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < x.length; k++) s += x[k] * y[k];
  return s;
}

export function norm(x: ArrayLike<number>): number {
  return Math.sqrt(dot(x, x));
}

/** Mean of the listed rows (float64). */
export function meanOfRows(m: Matrix, rows: ArrayLike<number>): Float64Array {
  const c = new Float64Array(m.dim);
  for (let i = 0; i < rows.length; i++) {
    const off = rows[i] * m.dim;
    for (let k = 0; k < m.dim; k++) c[k] += m.data[off + k];
  }
  if (rows.length > 0) for (let k = 0; k < m.dim; k++) c[k] /= rows.length;
  return c;
}

/** Largest distance from the listed rows to a centre: the radius of the bounding sphere around it. */
export function radiusAround(m: Matrix, rows: ArrayLike<number>, centre: Float64Array): number {
  let r2 = 0;
  for (let i = 0; i < rows.length; i++) {
    const d = sqDistRow(m, rows[i], centre);
    if (d > r2) r2 = d;
  }
  return Math.sqrt(r2);
}

/** Checks labels against a matrix: one non-negative integer label per row. */
export function checkLabels(m: Matrix, labels: ArrayLike<number>, what = "labels"): void {
  if (labels.length !== m.n) throw argError(what, `expected ${m.n} labels (one per point), got ${labels.length}`);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0) throw argError(what, `label of point ${i} is ${l}; expected a non-negative integer`);
  }
}
