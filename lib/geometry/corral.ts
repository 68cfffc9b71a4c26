/**
 * Exact nearest points of two convex hulls by an active-set (Wolfe-style "minimum-norm point") method.
 *
 *   min ||z||^2,  z = sum_i lambda_i a_i - sum_j mu_j b_j,  lambda in simplex(A), mu in simplex(B)
 *
 * The corral is a small set of points of A and B whose lifted vectors (a, c, 0) and (-b, 0, c) are linearly
 * independent. A minor cycle moves the weights towards the minimiser of ||z|| over the corral's two affine hulls
 * (the constraints sum lambda = 1 and sum mu = 1 without signs) and drops the points whose weight reaches 0; a
 * major cycle adds the point of A with the smallest z.a or of B with the largest z.b when it strictly lowers
 * ||z||. In exact arithmetic every major cycle lowers ||z|| strictly and the corral never repeats, so the method
 * ends after finitely many steps at the exact optimum: when the hulls overlap it reaches z = 0 (up to rounding),
 * an overlap certificate, instead of creeping towards 0 as first-order methods (MDM, Gilbert) do.
 *
 * The affine minimiser over the corral: with M the signed Gram matrix (M_kl = s_k s_l v_k.v_l) and the lifted
 * Gram H = M + c^2 (e_A e_A' + e_B e_B'), which is positive definite exactly when the lifted vectors are
 * independent, the KKT conditions give u in span(H^-1 e_A, H^-1 e_B); the two sums fix the combination. H is kept
 * as a Cholesky factor R (H = R'R) updated in O(k^2) when a point enters (one triangular solve) or leaves (Givens
 * rotations), never refactored.
 *
 * Certificates are computed from the points themselves, not from the factorisation, so rounding in the
 * factorisation can cost iterations but never a wrong answer: upper = ||z|| for actual convex weights (rebuilt
 * from the data), lower = (min_A z.a - max_B z.b) / ||z||, the margin of the hyperplane normal to z.
 */
import type { PointSet } from "./hull";
import { projectRows } from "./matrix";
import { loadNativeDist, NativeDist } from "./native-dist";

export interface CorralOptions {
  /** "separable": stop at the first certificate of separation or overlap; "distance": until upper - lower <= relTol * upper. */
  goal: "separable" | "distance";
  relTol: number;
  /** Distances at or below this count as 0 (overlap); margins above it certify separation. Absolute. */
  zeroTol: number;
  /** Budget of major cycles (points added). */
  maxMajor?: number;
  /** A feasible start (positions in A's and B's row lists with convex weights), e.g. a sub-cluster's optimum. */
  warm?: { posA: number[]; weightA: number[]; posB: number[]; weightB: number[] };
  /** Candidate pool per side priced between full passes (default 48). */
  poolSize?: number;
  /** Use the native corral kernel when it is built (default true; bit-identical either way, false for tests). */
  native?: boolean;
  /** The centroids of A and B, if known (bit-identical to summing the rows in order and dividing): saves a pass. */
  centreA?: Float64Array;
  centreB?: Float64Array;
  /**
   * Sums of squared distances of A's and B's points from their centroids (with centreA and centreB): the lift constant
   * then comes from them (parallel-axis theorem) instead of a pass over every point. Any positive lift of the right
   * scale gives the same certified answers; this one equals the pass's up to rounding.
   */
  spreadA?: number;
  spreadB?: number;
}

export interface CorralResult {
  status: "separated" | "overlap" | "undecided";
  lower: number;
  upper: number;
  /** z = p - q (normal of the separating hyperplane when separated). */
  w: Float64Array;
  minA: number;
  maxB: number;
  /** Positions (in A's and B's row lists) carrying weight in the final p and q, and their weights. */
  posA: number[];
  posB: number[];
  weightA: number[];
  weightB: number[];
  major: number;
  minor: number;
  /** Major cycles that priced every point (the others priced only the candidate pool). */
  fullPasses: number;
  /** Why an undecided result stopped (numerical stall, budget). */
  reason?: string;
}

type F64 = Float64Array<ArrayBuffer>;
/** The projections' buffer of the last solve (corralHullDistance), for the next. */
let spareProj: F64 | undefined;
/** Buffers a finished corral leaves for the next one (Corral.release). */
let spare: { R: F64; yA: F64; yB: F64; flat: F64; sides: Int32Array<ArrayBuffer>; cap: number; dim: number } | undefined;

/**
 * The corral: members, weights and the Cholesky factor R of their lifted Gram matrix H = R'R (upper triangular,
 * row-major with stride cap; column k belongs to member k), plus yA = R'^-1 e_A and yB = R'^-1 e_B, kept up to
 * date through additions and removals so that the affine minimiser costs one back substitution.
 */
class Corral {
  side: number[] = []; // +1: A, -1: B
  pos: number[] = []; // position in its side's list
  weight: number[] = [];
  R = new Float64Array(0);
  yA = new Float64Array(0);
  yB = new Float64Array(0);
  cap = 0;
  /** Buffer of the affine minimiser's weights (valid up to size). */
  private u = new Float64Array(0);
  /** Each member's point minus the shift, in float64, row after row (only members: the Gram products use them). */
  private flat = new Float64Array(0);
  /** The members' sides again, as the native kernel reads them. */
  private sides = new Int32Array(0);

  constructor(
    private readonly A: PointSet,
    private readonly B: PointSet,
    private readonly shift: Float64Array,
    /** Squared lifting constant c^2 (same order as the squared norms of the centred points). */
    private readonly lift: number,
    private readonly native: NativeDist | null,
  ) {
    // The previous corral's buffers, when they fit this one's dimension (grow() then starts from their capacity).
    const b = spare;
    if (b && b.dim === A.m.dim) {
      spare = undefined;
      ({ R: this.R, yA: this.yA, yB: this.yB, flat: this.flat, sides: this.sides, cap: this.cap } = b);
    }
  }

  /**
   * Hands the buffers to the next corral (solves run one at a time): a solve on large clusters grew them to hundreds
   * of members, an allocation and a copy per doubling, every solve. Every entry the next corral reads it writes first
   * (a member's column and row of R, its entries of yA, yB, flat and sides, when it enters), so stale values never
   * matter.
   */
  release(): void {
    if (!spare || spare.cap < this.cap) spare = { R: this.R, yA: this.yA, yB: this.yB, flat: this.flat, sides: this.sides, cap: this.cap, dim: this.A.m.dim };
  }

  get size(): number {
    return this.side.length;
  }

  has(side: number, pos: number): boolean {
    for (let k = 0; k < this.side.length; k++) if (this.side[k] === side && this.pos[k] === pos) return true;
    return false;
  }

  /** Scratch for add(): the candidate's centred vector and its column of R (add stores copies). */
  private xBuf = new Float64Array(0);
  private rBuf = new Float64Array(0);

  private centred(side: number, pos: number): Float64Array {
    const set = side > 0 ? this.A : this.B;
    const dim = set.m.dim;
    const off = set.rows[pos] * dim;
    if (this.xBuf.length !== dim) this.xBuf = new Float64Array(dim);
    const out = this.xBuf;
    for (let k = 0; k < dim; k++) out[k] = set.m.data[off + k] - this.shift[k];
    return out;
  }

  private grow(k: number): void {
    if (k < this.cap) return;
    const cap = Math.max(16, this.cap * 2);
    const next = new Float64Array(cap * cap);
    for (let i = 0; i < k; i++) next.set(this.R.subarray(i * this.cap, i * this.cap + k), i * cap);
    this.R = next;
    const yA = new Float64Array(cap);
    yA.set(this.yA.subarray(0, k));
    this.yA = yA;
    const yB = new Float64Array(cap);
    yB.set(this.yB.subarray(0, k));
    this.yB = yB;
    const dim = this.A.m.dim;
    const flat = new Float64Array(cap * dim);
    flat.set(this.flat.subarray(0, k * dim));
    this.flat = flat;
    const sides = new Int32Array(cap);
    sides.set(this.sides.subarray(0, k));
    this.sides = sides;
    this.cap = cap;
  }

  /**
   * Adds a point with weight 0 if its lifted vector is independent of the corral's (relative pivot above
   * `pivotTol`). Returns false (corral unchanged) otherwise.
   */
  add(side: number, pos: number, pivotTol: number): boolean {
    const k = this.size;
    this.grow(k + 1);
    const { R, cap } = this;
    const x = this.centred(side, pos);
    const dim = x.length;
    // h = lifted products with the members, then solve R' r = h column by column (rows of R are contiguous). The
    // native kernel, when built, does both in this order (bit-identical).
    if (this.rBuf.length < k) this.rBuf = new Float64Array(this.cap);
    const r = this.rBuf;
    let rr = 0;
    if (this.native && k > 0) rr = this.native.corraladd(this.flat, k, dim, x, this.sides, side, this.lift, R, cap, r);
    else {
      const flat = this.flat;
      for (let i = 0; i < k; i++) {
        const y = i * dim;
        let s0 = 0, s1 = 0; // prettier-ignore
        let t = 0;
        for (; t + 1 < dim; t += 2) {
          s0 += x[t] * flat[y + t];
          s1 += x[t + 1] * flat[y + t + 1];
        }
        if (t < dim) s0 += x[t] * flat[y + t];
        const d = (s0 + s1) * side * this.side[i];
        r[i] = side === this.side[i] ? d + this.lift : d;
      }
      for (let j = 0; j < k; j++) {
        const v = r[j] / R[j * cap + j];
        r[j] = v;
        rr += v * v;
        const row = j * cap;
        for (let i = j + 1; i < k; i++) r[i] -= R[row + i] * v;
      }
    }
    let hkk = this.lift;
    for (let t = 0; t < dim; t++) hkk += x[t] * x[t];
    const rho2 = hkk - rr;
    if (!(rho2 > pivotTol * hkk)) return false;
    const rho = Math.sqrt(rho2);
    for (let i = 0; i < k; i++) R[i * cap + k] = r[i];
    for (let c = 0; c <= k; c++) R[k * cap + c] = 0;
    R[k * cap + k] = rho;
    // Extend yA, yB: the new row of R' gives the new entry.
    let sa = side > 0 ? 1 : 0;
    let sb = side > 0 ? 0 : 1;
    for (let i = 0; i < k; i++) {
      sa -= r[i] * this.yA[i];
      sb -= r[i] * this.yB[i];
    }
    this.yA[k] = sa / rho;
    this.yB[k] = sb / rho;
    this.side.push(side);
    this.pos.push(pos);
    this.weight.push(0);
    this.flat.set(x, k * dim);
    this.sides[k] = side;
    return true;
  }

  /** Removes member j: delete column j of R and restore the triangle with Givens rotations (applied to yA, yB too). */
  remove(j: number): void {
    const { R, cap, yA, yB } = this;
    const k = this.size;
    for (let i = 0; i < k; i++) {
      const r = i * cap;
      for (let c = j; c < k - 1; c++) R[r + c] = R[r + c + 1];
      R[r + k - 1] = 0;
    }
    // Rows i and i+1 (i >= j) now have a subdiagonal entry R[i+1][i]; rotate it away.
    for (let i = j; i < k - 1; i++) {
      const ri = i * cap;
      const rn = (i + 1) * cap;
      const a = R[ri + i];
      const b = R[rn + i];
      if (b === 0) continue;
      const h = Math.hypot(a, b);
      const c = a / h;
      const s = b / h;
      for (let col = i; col < k - 1; col++) {
        const x = R[ri + col];
        const y = R[rn + col];
        R[ri + col] = c * x + s * y;
        R[rn + col] = -s * x + c * y;
      }
      R[rn + i] = 0;
      const xa = yA[i];
      const ya = yA[i + 1];
      yA[i] = c * xa + s * ya;
      yA[i + 1] = -s * xa + c * ya;
      const xb = yB[i];
      const yb = yB[i + 1];
      yB[i] = c * xb + s * yb;
      yB[i + 1] = -s * xb + c * yb;
    }
    // Keep the diagonal positive (flipping a row of R and the same entry of yA, yB changes nothing else).
    for (let i = j; i < k - 1; i++) {
      if (R[i * cap + i] < 0) {
        for (let col = i; col < k - 1; col++) R[i * cap + col] = -R[i * cap + col];
        yA[i] = -yA[i];
        yB[i] = -yB[i];
      }
    }
    for (let col = 0; col < k; col++) R[(k - 1) * cap + col] = 0;
    yA[k - 1] = 0;
    yB[k - 1] = 0;
    this.side.splice(j, 1);
    this.pos.splice(j, 1);
    this.weight.splice(j, 1);
    const dim = this.A.m.dim;
    this.flat.copyWithin(j * dim, (j + 1) * dim, k * dim);
    this.sides.copyWithin(j, j + 1, k);
  }

  /**
   * The affine minimiser's weights u (sum over A = 1, sum over B = 1), or undefined if numerically singular.
   * u = H^-1 (cA e_A + cB e_B) = R^-1 (cA yA + cB yB), with e_A'H^-1 e_A = yA.yA etc. fixing cA, cB.
   */
  affineMinimiser(): Float64Array | undefined {
    const k = this.size;
    const { R, cap, yA, yB } = this;
    let aa = 0, ab = 0, bb = 0; // prettier-ignore
    for (let i = 0; i < k; i++) {
      aa += yA[i] * yA[i];
      ab += yA[i] * yB[i];
      bb += yB[i] * yB[i];
    }
    const det = aa * bb - ab * ab;
    if (!Number.isFinite(det) || !(det > 0)) return undefined;
    const cA = (bb - ab) / det;
    const cB = (aa - ab) / det;
    if (this.u.length < k) this.u = new Float64Array(this.cap);
    const u = this.u;
    for (let i = 0; i < k; i++) u[i] = cA * yA[i] + cB * yB[i];
    for (let i = k - 1; i >= 0; i--) {
      let s = u[i];
      const r = i * cap;
      for (let j = i + 1; j < k; j++) s -= R[r + j] * u[j];
      u[i] = s / R[r + i];
    }
    // Exact sums (the solve is only accurate to rounding): rescale each side.
    let sA = 0;
    let sB = 0;
    for (let i = 0; i < k; i++) (this.side[i] > 0 ? (sA += u[i]) : (sB += u[i]));
    if (!(Math.abs(sA - 1) < 1e-6 && Math.abs(sB - 1) < 1e-6)) return undefined;
    for (let i = 0; i < k; i++) u[i] /= this.side[i] > 0 ? sA : sB;
    return u;
  }

  /** Sets each side's weights to sum to exactly 1 (removes drift of the line searches). */
  normalise(): void {
    let sA = 0;
    let sB = 0;
    for (let i = 0; i < this.size; i++) (this.side[i] > 0 ? (sA += this.weight[i]) : (sB += this.weight[i]));
    for (let i = 0; i < this.size; i++) this.weight[i] /= this.side[i] > 0 ? sA : sB;
  }
}

/** The native corral kernel, if built (an addon built before it existed lacks it: then the JS loops). */
function nativeCorral(): NativeDist | null {
  const native = loadNativeDist();
  return native && typeof native.corraladd === "function" && typeof native.sqdevsum === "function" && typeof native.combine === "function" ? native : null;
}

/** smallest()'s heap (values and positions), reused: pricing passes on large clusters called it thousands of times. */
let heapVal = new Float64Array(64);
let heapPos = new Int32Array(64);

/**
 * Positions of the (at most) `count` smallest values of sign * v[0..n), smallest first, ties by position (NaNs never
 * chosen). One pass with a max-heap of the best `count` so far: a value joins only if it is below the heap's top,
 * which after the first few hundred rows almost none is, so the pass costs about one comparison per value and
 * allocates nothing but the answer.
 */
export function smallest(v: Float64Array, n: number, count: number, sign: number): number[] {
  if (heapVal.length < count) {
    heapVal = new Float64Array(count);
    heapPos = new Int32Array(count);
  }
  const hv = heapVal;
  const hp = heapPos;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const x = sign * v[i];
    if (size < count) {
      if (Number.isNaN(x)) continue;
      // Sift up (a larger value, or an equal one at a later position, is nearer the top).
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!(hv[p] < x || (hv[p] === x && hp[p] < i))) break;
        hv[c] = hv[p];
        hp[c] = hp[p];
        c = p;
      }
      hv[c] = x;
      hp[c] = i;
    } else if (x < hv[0]) {
      // Replace the top (every position in the heap is below i, so an equal value never displaces one) and sift down.
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= size) break;
        const r = l + 1;
        const big = r < size && (hv[r] > hv[l] || (hv[r] === hv[l] && hp[r] > hp[l])) ? r : l;
        if (!(hv[big] > x || (hv[big] === x && hp[big] > i))) break;
        hv[c] = hv[big];
        hp[c] = hp[big];
        c = big;
      }
      hv[c] = x;
      hp[c] = i;
    }
  }
  const kept = Array.from(hp.subarray(0, size));
  return kept.sort((a, b) => sign * v[a] - sign * v[b] || a - b);
}

/**
 * Nearest points of hull(A) and hull(B) by the corral method, with certified bounds. "undecided" only when
 * rounding stops the method before a certificate (the caller then falls back to another solver).
 */
export function corralHullDistance(A: PointSet, B: PointSet, opts: CorralOptions): CorralResult {
  const dim = A.m.dim;
  const nA = A.rows.length;
  const nB = B.rows.length;
  // Centre on the midpoint of the two centroids; scale the lift to the points' spread.
  const cA = opts.centreA ?? new Float64Array(dim);
  const cB = opts.centreB ?? new Float64Array(dim);
  for (const [set, c, known] of [
    [A, cA, opts.centreA !== undefined],
    [B, cB, opts.centreB !== undefined],
  ] as const) {
    if (known) continue;
    for (let i = 0; i < set.rows.length; i++) {
      const off = set.rows[i] * dim;
      for (let k = 0; k < dim; k++) c[k] += set.m.data[off + k];
    }
    for (let k = 0; k < dim; k++) c[k] /= set.rows.length;
  }
  const shift = new Float64Array(dim);
  for (let k = 0; k < dim; k++) shift[k] = 0.5 * (cA[k] + cB[k]);
  // Lift constant: the mean squared norm of the centred points (keeps H's two parts on the same scale).
  let meanSq = 0;
  const native = opts.native === false ? null : nativeCorral();
  const fromSpreads = opts.centreA !== undefined && opts.centreB !== undefined && opts.spreadA !== undefined && opts.spreadB !== undefined;
  if (fromSpreads) {
    // Sum over A of |a - shift|^2 = spreadA + nA |cA - shift|^2, and |cA - shift| = |cB - shift| = |cA - cB| / 2.
    let half2 = 0;
    for (let k = 0; k < dim; k++) half2 += (0.25 * (cA[k] - cB[k])) * (cA[k] - cB[k]);
    meanSq = opts.spreadA! + opts.spreadB! + (nA + nB) * half2;
  }
  for (const set of fromSpreads ? [] : [A, B]) {
    const { m, rows } = set;
    if (native && rows instanceof Int32Array) {
      meanSq = native.sqdevsum(m.data, dim, rows, shift, meanSq);
      continue;
    }
    for (let i = 0; i < rows.length; i++) {
      const off = rows[i] * dim;
      for (let k = 0; k < dim; k++) {
        const t = m.data[off + k] - shift[k];
        meanSq += t * t;
      }
    }
  }
  meanSq /= nA + nB;
  const lift = Math.max(meanSq, 1e-300);
  const corral = new Corral(A, B, shift, lift, native);
  const pivotTol = 1e-13;

  // Every point's projection (A's then B's), in a buffer the solves share unless one runs inside another.
  const proj = spareProj && spareProj.length >= nA + nB ? spareProj : new Float64Array(nA + nB);
  spareProj = undefined;
  const projA = proj.subarray(0, nA);
  const projB = proj.subarray(nA, nA + nB);
  const z = new Float64Array(dim);

  // Warm start: a feasible (p, q) given by weights on some points (e.g. a sub-cluster's optimum).
  if (opts.warm) {
    const { posA, weightA, posB, weightB } = opts.warm;
    for (let i = 0; i < posA.length; i++) if (weightA[i] > 0 && corral.add(1, posA[i], pivotTol)) corral.weight[corral.size - 1] = weightA[i];
    for (let j = 0; j < posB.length; j++) if (weightB[j] > 0 && corral.add(-1, posB[j], pivotTol)) corral.weight[corral.size - 1] = weightB[j];
    if (!corral.side.includes(1) || !corral.side.includes(-1)) while (corral.size > 0) corral.remove(corral.size - 1);
    else corral.normalise();
  }
  if (corral.size === 0) {
    // Starting pair: the points of each side reaching furthest towards the other along the centroid difference.
    const dir = Float64Array.from(cA, (v, k) => v - cB[k]);
    projectRows(A.m, A.rows, dir, projA);
    projectRows(B.m, B.rows, dir, projB);
    let ia = 0;
    let ib = 0;
    for (let i = 1; i < nA; i++) if (projA[i] < projA[ia]) ia = i;
    for (let j = 1; j < nB; j++) if (projB[j] > projB[ib]) ib = j;
    corral.add(1, ia, 0);
    corral.add(-1, ib, 0);
    corral.weight[0] = 1;
    corral.weight[1] = 1;
  }

  const maxMajor = opts.maxMajor ?? 4 * (dim + 2) + 100;
  // Pricing: every cycle the candidate pool (the most violating points of the last full pass) is priced; all points
  // only when the pool has no violator left or every fullEvery cycles. Certificates of separation need a full pass.
  const poolSize = Math.min(opts.poolSize ?? 48, Math.max(nA, nB));
  const fullEvery = 16;
  let poolA: number[] = [];
  let poolB: number[] = [];
  // The pools' rows (typed: the native projection kernel serves them), rebuilt when the pools are.
  let poolRowsA = new Int32Array(0);
  let poolRowsB = new Int32Array(0);
  const poolProjA = new Float64Array(Math.min(poolSize, nA));
  const poolProjB = new Float64Array(Math.min(poolSize, nB));
  let sinceFull = Infinity;
  let major = 0;
  let minor = 0;
  let fullPasses = 0;
  let lower = 0;
  let upper = Infinity;
  let minA = 0;
  let maxB = 0;
  let bestZ2 = Infinity;
  let reason: string | undefined;
  let status: CorralResult["status"] = "undecided";
  const wz = new Float64Array(dim);
  const certW = new Float64Array(dim);
  const pA = new Float64Array(dim);
  const qB = new Float64Array(dim);
  let forceFull = false;

  for (;;) {
    // Minor cycles: move towards the affine minimiser until it lies inside the corral's simplices.
    let ok = true;
    for (;;) {
      minor++;
      const u = corral.affineMinimiser();
      if (!u) {
        ok = false;
        reason = "singular corral";
        break;
      }
      let theta = 1;
      let drop = -1;
      for (let i = 0; i < corral.size; i++) {
        if (u[i] > 0) continue;
        const w = corral.weight[i];
        const t = w / (w - u[i]);
        if (t < theta) {
          theta = t;
          drop = i;
        }
      }
      for (let i = 0; i < corral.size; i++) corral.weight[i] += theta * (u[i] - corral.weight[i]);
      if (drop < 0) break;
      // Drop every member whose weight has reached 0 (the blocking one exactly).
      corral.weight[drop] = 0;
      for (let i = corral.size - 1; i >= 0; i--) if (corral.weight[i] <= 0) corral.remove(i);
      corral.normalise();
      if (minor > 50 * maxMajor) {
        ok = false;
        reason = "minor-cycle budget";
        break;
      }
    }
    corral.normalise();
    major++;
    // p, q and z = p - q from the data and exact convex weights: ||z|| is a certified upper bound.
    pA.fill(0);
    qB.fill(0);
    if (native) {
      const k = corral.size;
      const rows = new Int32Array(k);
      const sides = new Int32Array(k);
      for (let i = 0; i < k; i++) {
        rows[i] = (corral.side[i] > 0 ? A : B).rows[corral.pos[i]];
        sides[i] = corral.side[i];
      }
      native.combine(A.m.data, B.m.data, dim, rows, Float64Array.from(corral.weight), sides, pA, qB);
    } else {
      for (let i = 0; i < corral.size; i++) {
        const w = corral.weight[i];
        const set = corral.side[i] > 0 ? A : B;
        const acc = corral.side[i] > 0 ? pA : qB;
        const x = set.m.data;
        const off = set.rows[corral.pos[i]] * dim;
        for (let k = 0; k < dim; k++) acc[k] += w * x[off + k];
      }
    }
    let z2 = 0;
    let alpha = 0; // z.p: the level of A's side of the corral (all members share it at the affine minimiser)
    let beta = 0; // z.q
    for (let k = 0; k < dim; k++) {
      const zk = pA[k] - qB[k];
      z[k] = zk;
      z2 += zk * zk;
      alpha += zk * pA[k];
      beta += zk * qB[k];
    }
    const zn = Math.sqrt(z2);
    if (zn < upper) {
      upper = zn;
      wz.set(z);
    }
    if (upper <= opts.zeroTol) {
      status = "overlap";
      lower = 0;
      break;
    }
    const decreased = z2 < bestZ2;
    if (decreased) bestZ2 = z2;
    const eps = 1e-12 * (z2 + lift * 1e-6);
    const full = forceFull || sinceFull >= fullEvery || !ok || !decreased || major >= maxMajor;
    let ka = -1;
    let kb = -1;
    let vA = 0;
    let vB = 0;
    if (full) {
      forceFull = false;
      sinceFull = 0;
      fullPasses++;
      projectRows(A.m, A.rows, z, projA);
      projectRows(B.m, B.rows, z, projB);
      ka = 0;
      kb = 0;
      for (let i = 1; i < nA; i++) if (projA[i] < projA[ka]) ka = i;
      for (let j = 1; j < nB; j++) if (projB[j] > projB[kb]) kb = j;
      if (zn > 0 && (projA[ka] - projB[kb]) / zn > lower) lower = (projA[ka] - projB[kb]) / zn;
      minA = projA[ka];
      maxB = projB[kb];
      certW.set(z);
      if (lower > opts.zeroTol && (opts.goal === "separable" || upper - lower <= opts.relTol * upper)) {
        status = "separated";
        break;
      }
      if (!ok) break;
      if (!decreased) {
        reason = "no decrease";
        break;
      }
      if (major >= maxMajor) {
        reason = "major-cycle budget";
        break;
      }
      poolA = smallest(projA, nA, poolProjA.length, 1);
      poolB = smallest(projB, nB, poolProjB.length, -1);
      poolRowsA = Int32Array.from(poolA, (i) => A.rows[i]);
      poolRowsB = Int32Array.from(poolB, (j) => B.rows[j]);
      vA = alpha - projA[ka];
      vB = projB[kb] - beta;
    } else {
      sinceFull++;
      projectRows(A.m, poolRowsA, z, poolProjA);
      projectRows(B.m, poolRowsB, z, poolProjB);
      let ta = 0;
      let tb = 0;
      for (let t = 1; t < poolA.length; t++) if (poolProjA[t] < poolProjA[ta]) ta = t;
      for (let t = 1; t < poolB.length; t++) if (poolProjB[t] > poolProjB[tb]) tb = t;
      ka = poolA[ta];
      kb = poolB[tb];
      vA = alpha - poolProjA[ta];
      vB = poolProjB[tb] - beta;
    }
    const order: [number, number, number][] = vA >= vB ? [[1, ka, vA], [-1, kb, vB]] : [[-1, kb, vB], [1, ka, vA]]; // prettier-ignore
    let added = false;
    for (const [side, p, v] of order) {
      if (!(v > eps) || corral.has(side, p)) continue;
      if (corral.add(side, p, pivotTol)) {
        added = true;
        break;
      }
    }
    if (!added) {
      if (!full) {
        // The pool is exhausted: price every point on the next cycle (same z, so skip the minor cycles' work).
        forceFull = true;
        bestZ2 = Infinity;
        major--;
        continue;
      }
      reason = vA > eps || vB > eps ? "dependent violator" : "optimal";
      break;
    }
  }
  // The hyperplane reported is the one the last full pass measured (minA, maxB belong to it).
  wz.set(certW);
  const posA: number[] = [];
  const posB: number[] = [];
  const weightA: number[] = [];
  const weightB: number[] = [];
  for (let i = 0; i < corral.size; i++) {
    if (corral.weight[i] <= 0) continue;
    if (corral.side[i] > 0) {
      posA.push(corral.pos[i]);
      weightA.push(corral.weight[i]);
    } else {
      posB.push(corral.pos[i]);
      weightB.push(corral.weight[i]);
    }
  }
  corral.release();
  if (!spareProj || spareProj.length < proj.length) spareProj = proj;
  return { status, lower, upper, w: wz, minA, maxB, posA, posB, weightA, weightB, major, minor, fullPasses, reason };
}
