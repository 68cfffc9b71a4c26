/**
 * Distance between the convex hulls of two point sets, with a certified interval [lower, upper].
 *
 * The hard-margin linear SVM separating A from B has width 2/||w|| = the Euclidean distance between hull(A)
 * and hull(B), so one nearest-point problem answers both "are they linearly separable?" (distance > 0) and
 * "how far apart?" (the paper's cluster distance). We solve  min ||p - q||  over p in hull(A), q in hull(B)
 * with an MDM / SMO-style method (move weight between two points of one side, exact line search) on a small
 * working set, and grow the working set with the points that violate its optimality on the full sets.
 *
 * Certificates: with z = p - q, upper = ||z|| is attained by actual hull points, and
 * lower = (min_A z.a - max_B z.b) / ||z|| is the margin of the hyperplane normal to z, a lower bound on the
 * distance whenever it is positive (then the sets are separated).
 *
 * By default the exact active-set method of corral.ts answers first (it ends finitely, and reaches z = 0 on
 * overlapping hulls instead of creeping towards it). The MDM iterations below are the fallback when rounding
 * stops it undecided (and the solver for `solver: "mdm"`): there overlapping hulls make ||z|| creep towards 0
 * without ever certifying it, so overlap is decided by the L1-gap LP (lp.ts), first on the working set (a
 * subset's overlap proves the full sets overlap) and only if needed on the full sets.
 */
import { FtgeoError } from "../util/errors";
import { corralHullDistance } from "./corral";
import { hullGapLp, lpReady } from "./lp";
import { Matrix, projectRows } from "./matrix";

export type HullStatus = "separated" | "overlap" | "undecided";

export interface HullOptions {
  /**
   * "separable": stop as soon as separation or overlap is certified (clustering);
   * "distance": refine until (upper - lower) <= relTol * upper (measures).
   */
  goal?: "separable" | "distance";
  /** Relative accuracy of the distance interval for goal "distance". Default 1e-4. */
  relTol?: number;
  /** Distances at most overlapTol * scale count as 0 (overlap). Default 1e-5. */
  overlapTol?: number;
  /** Budget of inner MDM iterations over the whole solve. Default 200,000. */
  maxIterations?: number;
  /** Points to start the working sets from (rows of the A and B lists, e.g. a previous solution's support). */
  warmA?: ArrayLike<number>;
  warmB?: ArrayLike<number>;
  /**
   * Convex weights of warmA's and warmB's points (each summing to 1): a feasible pair of hull points, e.g. the
   * optimum of a sub-cluster against the same other cluster, from which the corral method starts.
   */
  warmWeightA?: ArrayLike<number>;
  warmWeightB?: ArrayLike<number>;
  /**
   * true: also ask the LP when the distance stalls towards 0 (exact but slow at hundreds of dimensions);
   * default: the LP (when initLp() has loaded it) only decides pairs the iteration budget left undecided;
   * false: never use the LP (undecided pairs then count as overlapping).
   */
  useLp?: boolean;
  /** Time limit of the LP that decides budget-exhausted pairs (default 20 s). */
  lpTimeLimitSeconds?: number;
  /**
   * "corral" (default): the exact active-set method (corral.ts) first, the MDM iterations and the LP only if
   * rounding stops it undecided; "mdm": only the MDM iterations and the LP (for comparisons).
   */
  solver?: "corral" | "mdm";
  /**
   * sphereOf(A) and sphereOf(B) when the caller already has them (DirectProbe keeps every cluster's centroid and
   * radius, computed by the same loop): saves two passes over each point set per solve. Must be bit-identical to
   * what sphereOf would return, or the answers may differ in the last bits. `spread` (optional): the sum of the points'
   * squared distances from the centre (overlap.ts ensureSpread), which spares the corral solver a pass for its scale.
   */
  sphereA?: { centre: Float64Array; radius: number; spread?: number };
  sphereB?: { centre: Float64Array; radius: number; spread?: number };
}

export interface HullResult {
  status: HullStatus;
  /** Certified bounds on the Euclidean distance between the hulls. */
  lower: number;
  upper: number;
  /** z = p - q for the best pair found; separating normal when status is "separated". */
  w: Float64Array;
  /** min over A of w.a and max over B of w.b (a separating hyperplane when minA > maxB). */
  minA: number;
  maxB: number;
  /** Rows (of the A and B lists' matrices) carrying weight in p and q: a witness of overlap when status is "overlap". */
  supportA: number[];
  supportB: number[];
  /** Convex weights of supportA and supportB when known (the corral method's final p and q). */
  weightA?: number[];
  weightB?: number[];
  iterations: number;
  passes: number;
  lpSolves: number;
  lpSeconds: number;
  /** Which method produced the answer: the exact corral method alone, or the MDM iterations (and the LP). */
  solver: "corral" | "mdm";
}

/** A set of points: some rows of a matrix. */
export interface PointSet {
  m: Matrix;
  rows: ArrayLike<number>;
}

const DEFAULTS = { relTol: 1e-4, overlapTol: 1e-5, maxIterations: 200_000 };

/** Working set: a few points of each side with convex weights and a cached Gram matrix. */
class WorkingSet {
  side: number[] = []; // +1 (A) or -1 (B)
  row: number[] = []; // row in its side's matrix
  pos: number[] = []; // position in its side's row list
  weight: number[] = [];
  g: number[] = []; // z . x for each member
  gram = new Float64Array(0);
  cap = 0;
  private members = [new Map<number, number>(), new Map<number, number>()];

  constructor(
    private readonly A: PointSet,
    private readonly B: PointSet,
  ) {}

  get size(): number {
    return this.side.length;
  }

  has(side: number, pos: number): boolean {
    return this.members[side > 0 ? 0 : 1].has(pos);
  }

  private vec(k: number): Float32Array {
    const set = this.side[k] > 0 ? this.A : this.B;
    const dim = set.m.dim;
    const r = this.row[k];
    return set.m.data.subarray(r * dim, (r + 1) * dim);
  }

  add(side: number, pos: number, weight: number): number {
    const set = side > 0 ? this.A : this.B;
    const k = this.size;
    this.side.push(side);
    this.pos.push(pos);
    this.row.push(set.rows[pos]);
    this.weight.push(weight);
    this.g.push(0);
    this.members[side > 0 ? 0 : 1].set(pos, k);
    if (k >= this.cap) {
      const cap = Math.max(16, this.cap * 2);
      const next = new Float64Array(cap * cap);
      for (let i = 0; i < k; i++) next.set(this.gram.subarray(i * this.cap, i * this.cap + k), i * cap);
      this.gram = next;
      this.cap = cap;
    }
    const x = this.vec(k);
    for (let i = 0; i <= k; i++) {
      const y = this.vec(i);
      let s = 0;
      for (let t = 0; t < x.length; t++) s += x[t] * y[t];
      this.gram[k * this.cap + i] = s;
      this.gram[i * this.cap + k] = s;
    }
    return k;
  }

  /** Recomputes z = p - q from the weights and the projections g exactly (removes incremental drift). */
  refresh(z: Float64Array): void {
    z.fill(0);
    for (let k = 0; k < this.size; k++) {
      const w = this.weight[k] * this.side[k];
      if (w === 0) continue;
      const x = this.vec(k);
      for (let t = 0; t < x.length; t++) z[t] += w * x[t];
    }
    for (let k = 0; k < this.size; k++) {
      let s = 0;
      for (let i = 0; i < this.size; i++) {
        const w = this.weight[i] * this.side[i];
        if (w !== 0) s += w * this.gram[k * this.cap + i];
      }
      this.g[k] = s;
    }
  }

  /**
   * MDM iterations on the working set until its duality gap is at most tol * ||z||^2 (or the budget ends).
   * Returns the number of iterations done.
   */
  converged = false;

  solve(tol: number, budget: number): number {
    this.converged = false;
    const { side, weight, g, gram, cap } = this;
    const m = this.size;
    let it = 0;
    for (; it < budget; it++) {
      let lA = -1, kA = -1, lB = -1, kB = -1; // prettier-ignore
      let z2 = 0;
      for (let k = 0; k < m; k++) {
        const gk = g[k];
        if (side[k] > 0) {
          z2 += weight[k] * gk;
          if (kA < 0 || gk < g[kA]) kA = k;
          if (weight[k] > 0 && (lA < 0 || gk > g[lA])) lA = k;
        } else {
          z2 -= weight[k] * gk;
          if (kB < 0 || gk > g[kB]) kB = k;
          if (weight[k] > 0 && (lB < 0 || gk < g[lB])) lB = k;
        }
      }
      const gapA = lA >= 0 ? g[lA] - g[kA] : 0;
      const gapB = lB >= 0 ? g[kB] - g[lB] : 0;
      if (gapA + gapB <= tol * Math.max(z2, 0) || z2 <= 0) {
        this.converged = true;
        break;
      }
      // Second-order choice of the partner (as libsvm's WSS2): l is the most violating point carrying weight,
      // k the point whose exchange with l decreases ||z||^2 most.
      let bestGain = 0;
      let k = -1;
      let l = -1;
      let onA = true;
      for (const sideA of [true, false]) {
        const lc = sideA ? lA : lB;
        if (lc < 0) continue;
        const gl = g[lc];
        const rl = lc * cap;
        const dll = gram[rl + lc];
        for (let c = 0; c < m; c++) {
          if ((side[c] > 0) !== sideA || c === lc) continue;
          const diff = sideA ? gl - g[c] : g[c] - gl;
          if (diff <= 0) continue;
          const dd = gram[c * cap + c] + dll - 2 * gram[rl + c];
          // Actual decrease of ||z||^2 with the step clipped to l's weight (libsvm's WSS2 ignores the clip, which
          // here makes it pick near-duplicate points whose tiny weights allow almost no progress).
          const wl = weight[lc];
          const step = dd > 0 ? Math.min(diff / dd, wl) : wl;
          const gain = 2 * step * diff - step * step * dd;
          if (gain > bestGain) {
            bestGain = gain;
            k = c;
            l = lc;
            onA = sideA;
          }
        }
      }
      if (k < 0) {
        this.converged = true;
        break;
      }
      const dd = gram[k * cap + k] + gram[l * cap + l] - 2 * gram[k * cap + l];
      const diff = onA ? g[l] - g[k] : g[k] - g[l];
      let delta = dd > 0 ? diff / dd : weight[l];
      if (delta > weight[l]) delta = weight[l];
      weight[l] -= delta;
      weight[k] += delta;
      // A-side move: z += delta (x_k - x_l); B-side move: z -= delta (x_k - x_l).
      const s = onA ? delta : -delta;
      const rk = k * cap;
      const rl = l * cap;
      for (let i = 0; i < m; i++) g[i] += s * (gram[rk + i] - gram[rl + i]);
    }
    return it;
  }
}

/** Centroid and bounding-sphere radius of a point set (float64). */
export function sphereOf(set: PointSet): { centre: Float64Array; radius: number } {
  const { m, rows } = set;
  const c = new Float64Array(m.dim);
  for (let i = 0; i < rows.length; i++) {
    const off = rows[i] * m.dim;
    for (let k = 0; k < m.dim; k++) c[k] += m.data[off + k];
  }
  for (let k = 0; k < m.dim; k++) c[k] /= rows.length;
  let r2 = 0;
  for (let i = 0; i < rows.length; i++) {
    const off = rows[i] * m.dim;
    let s = 0;
    for (let k = 0; k < m.dim; k++) {
      const t = m.data[off + k] - c[k];
      s += t * t;
    }
    if (s > r2) r2 = s;
  }
  return { centre: c, radius: Math.sqrt(r2) };
}

/** Indices of the (at most) `count` smallest values of proj below `limit`, most violating first. */
function violators(proj: Float64Array, n: number, limit: number, count: number, sign: number): number[] {
  const picked: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sign * proj[i];
    if (v >= limit) continue;
    if (picked.length < count) {
      picked.push(i);
      for (let t = picked.length - 1; t > 0 && sign * proj[picked[t]] < sign * proj[picked[t - 1]]; t--) {
        [picked[t], picked[t - 1]] = [picked[t - 1], picked[t]];
      }
    } else if (v < sign * proj[picked[count - 1]]) {
      picked[count - 1] = i;
      for (let t = count - 1; t > 0 && sign * proj[picked[t]] < sign * proj[picked[t - 1]]; t--) {
        [picked[t], picked[t - 1]] = [picked[t - 1], picked[t]];
      }
    }
  }
  return picked;
}

/**
 * Euclidean distance between hull(A) and hull(B) with a certified interval, and whether they are separable.
 * A and B may live in different matrices of the same dimension (e.g. a cluster and a test point).
 */
export function hullDistance(A: PointSet, B: PointSet, opts: HullOptions = {}): HullResult {
  const dim = A.m.dim;
  if (B.m.dim !== dim) throw new FtgeoError(`hullDistance: point sets have ${dim} and ${B.m.dim} dimensions`);
  const nA = A.rows.length;
  const nB = B.rows.length;
  if (nA === 0 || nB === 0) throw new FtgeoError(`hullDistance: empty point set (${nA} and ${nB} points)`);
  const goal = opts.goal ?? "separable";
  const relTol = opts.relTol ?? DEFAULTS.relTol;
  const overlapTol = opts.overlapTol ?? DEFAULTS.overlapTol;
  const maxIterations = opts.maxIterations ?? DEFAULTS.maxIterations;
  const useLp = (opts.useLp ?? false) && lpReady();

  const sa = opts.sphereA ?? sphereOf(A);
  const sb = opts.sphereB ?? sphereOf(B);
  let cd2 = 0;
  for (let k = 0; k < dim; k++) cd2 += (sa.centre[k] - sb.centre[k]) ** 2;
  const scale = Math.max(Math.sqrt(cd2) + sa.radius + sb.radius, 1e-300);
  const zeroTol = overlapTol * scale;
  // Accuracy the inner solver works to: tight enough for the goal, never tighter than float64 allows.
  let innerTol = Math.max(goal === "distance" ? relTol * 0.5 : 0.1, 1e-12);

  let corralWork = 0;
  let warmA = opts.warmA;
  let warmB = opts.warmB;
  if ((opts.solver ?? "corral") === "corral") {
    const c = corralHullDistance(A, B, { goal, relTol, zeroTol, warm: warmStart(A, B, opts), centreA: sa.centre, centreB: sb.centre, spreadA: opts.sphereA?.spread, spreadB: opts.sphereB?.spread });
    if (c.status !== "undecided") {
      return {
        status: c.status,
        lower: c.lower,
        upper: c.upper,
        w: c.w,
        minA: c.minA,
        maxB: c.maxB,
        supportA: c.posA.map((i) => A.rows[i]),
        supportB: c.posB.map((j) => B.rows[j]),
        weightA: c.weightA,
        weightB: c.weightB,
        iterations: c.major + c.minor,
        passes: c.major,
        lpSolves: 0,
        lpSeconds: 0,
        solver: "corral",
      };
    }
    // Rounding stopped it: continue with the MDM iterations from its support.
    corralWork = c.major + c.minor;
    warmA = c.posA.map((i) => A.rows[i]);
    warmB = c.posB.map((j) => B.rows[j]);
  }

  const ws = new WorkingSet(A, B);
  const projA = new Float64Array(nA);
  const projB = new Float64Array(nB);
  const z = new Float64Array(dim);
  // Start from the points of each side that reach furthest towards the other side's centroid.
  if (warmA && warmA.length > 0 && warmB && warmB.length > 0) {
    // Warm starts are given as matrix rows (e.g. a previous solution's support); map them to list positions.
    const posA = positionsOf(A.rows, warmA);
    const posB = positionsOf(B.rows, warmB);
    if (posA.length > 0 && posB.length > 0) {
      for (const i of posA) ws.add(1, i, 0);
      for (const j of posB) ws.add(-1, j, 0);
      ws.weight[0] = 1;
      ws.weight[posA.length] = 1;
    }
  }
  if (ws.size === 0) {
    for (let k = 0; k < dim; k++) z[k] = sa.centre[k] - sb.centre[k];
    projectRows(A.m, A.rows, z, projA);
    projectRows(B.m, B.rows, z, projB);
    let ia = 0;
    let ib = 0;
    for (let i = 1; i < nA; i++) if (projA[i] < projA[ia]) ia = i;
    for (let j = 1; j < nB; j++) if (projB[j] > projB[ib]) ib = j;
    ws.add(1, ia, 1);
    ws.add(-1, ib, 1);
  }

  let iterations = corralWork;
  let passes = 0;
  let lpSolves = 0;
  let lpSeconds = 0;
  let lower = 0;
  let upper = Infinity;
  let minA = 0;
  let maxB = 0;
  let status: HullStatus = "undecided";
  let lpSaysSeparated = false;
  let lpTried = false;
  let nextSmallLp = 10;
  const batch = 32;

  const support = (): { sA: number[]; sB: number[] } => {
    const sA: number[] = [];
    const sB: number[] = [];
    for (let k = 0; k < ws.size; k++) {
      if (ws.weight[k] <= 0) continue;
      (ws.side[k] > 0 ? sA : sB).push(ws.row[k]);
    }
    return { sA, sB };
  };

  for (;;) {
    ws.refresh(z);
    iterations += ws.solve(innerTol, Math.max(1, Math.min(maxIterations - iterations, 1000 + 50 * ws.size)));
    ws.refresh(z);
    passes++;
    projectRows(A.m, A.rows, z, projA);
    projectRows(B.m, B.rows, z, projB);
    let zn2 = 0;
    for (let k = 0; k < dim; k++) zn2 += z[k] * z[k];
    const zn = Math.sqrt(zn2);
    minA = Infinity;
    maxB = -Infinity;
    for (let i = 0; i < nA; i++) if (projA[i] < minA) minA = projA[i];
    for (let j = 0; j < nB; j++) if (projB[j] > maxB) maxB = projB[j];
    upper = Math.min(upper, zn);
    if (zn > 0) lower = Math.max(lower, (minA - maxB) / zn);

    if (upper <= zeroTol) {
      status = "overlap";
      lower = 0;
      break;
    }
    if (lower > zeroTol && (goal === "separable" || upper - lower <= relTol * upper)) {
      status = "separated";
      break;
    }
    if (lpSaysSeparated && goal === "separable" && lower > 0) {
      status = "separated";
      break;
    }
    if (iterations >= maxIterations) break;

    // Points that violate the working set's optimality: A points below its minimum projection, B points above
    // its maximum. None left means the working-set optimum is the global one (up to innerTol).
    let wMinA = Infinity;
    let wMaxB = -Infinity;
    for (let k = 0; k < ws.size; k++) {
      const p = ws.side[k] > 0 ? projA[ws.pos[k]] : projB[ws.pos[k]];
      if (ws.side[k] > 0) wMinA = Math.min(wMinA, p);
      else wMaxB = Math.max(wMaxB, p);
    }
    const slack = innerTol * zn2;
    const addA = violators(projA, nA, wMinA - slack, batch, 1).filter((i) => !ws.has(1, i));
    const addB = violators(projB, nB, -(wMaxB + slack), batch, -1).filter((j) => !ws.has(-1, j));

    // Overlap: the distance keeps shrinking towards 0 and no positive margin appears. Let the LP decide,
    // first on the working set (its overlap is a certificate for the full sets).
    const stalled = lower <= 0 && (upper < 1e-3 * scale || passes >= nextSmallLp || (ws.converged && addA.length === 0 && addB.length === 0));
    if (useLp && !lpTried && stalled) {
      nextSmallLp = passes * 2;
      const sA: number[] = [];
      const sB: number[] = [];
      for (let k = 0; k < ws.size; k++) (ws.side[k] > 0 ? sA : sB).push(ws.pos[k]);
      for (const i of addA) sA.push(i);
      for (const j of addB) sB.push(j);
      const subA = sA.map((i) => A.rows[i]);
      const subB = sB.map((j) => B.rows[j]);
      const lpSmall = runLp(A.m, subA, B.m, subB);
      lpSolves++;
      lpSeconds += lpSmall.seconds;
      if (lpSmall.gap <= zeroTol) return overlapFromLp(lpSmall, subA, subB);
      // The full LP is the expensive last resort: only once the working set stops being small, or after many passes.
      const fullLpDue = passes >= 64 || (ws.converged && innerTol <= 1e-9 && addA.length === 0 && addB.length === 0);
      if (!fullLpDue) {
        for (const i of addA) ws.add(1, i, 0);
        for (const j of addB) ws.add(-1, j, 0);
        continue;
      }
      const lpFull = runLp(A.m, A.rows, B.m, B.rows);
      lpSolves++;
      lpSeconds += lpFull.seconds;
      lpTried = true;
      if (lpFull.gap <= zeroTol) return overlapFromLp(lpFull, A.rows, B.rows);
      // Separated (the L1 gap bounds the Euclidean distance: gap / sqrt(dim) <= distance <= gap).
      lpSaysSeparated = true;
      upper = Math.min(upper, lpFull.gap);
      lower = Math.max(lower, lpFull.gap / Math.sqrt(dim));
      if (goal === "separable") {
        status = "separated";
        break;
      }
    }
    if (addA.length === 0 && addB.length === 0) {
      if (!ws.converged) continue; // more inner iterations on the next pass
      // Working-set optimum reached to innerTol but the certificate is not tight enough yet: tighten.
      if (innerTol <= 1e-12) break;
      innerTol = Math.max(innerTol * 0.01, 1e-12);
      continue;
    }
    for (const i of addA) ws.add(1, i, 0);
    for (const j of addB) ws.add(-1, j, 0);
  }
  if (status === "undecided" && !lpTried && lpReady() && opts.useLp !== false) {
    // The iteration budget ran out without a certificate either way (a very small but maybe positive
    // distance): let the exact LP on the full sets decide rather than guess, within a time limit (HiGHS in
    // wasm needs minutes on thousands of points in hundreds of dimensions); past it the pair stays undecided.
    let lpFull: ReturnType<typeof runLp>;
    try {
      lpFull = runLp(A.m, A.rows, B.m, B.rows, opts.lpTimeLimitSeconds ?? 20);
    } catch {
      const { sA, sB } = support();
      return finish(sA, sB);
    }
    lpSolves++;
    lpSeconds += lpFull.seconds;
    if (lpFull.gap <= zeroTol) return overlapFromLp(lpFull, A.rows, B.rows);
    upper = Math.min(upper, lpFull.gap);
    lower = Math.max(lower, lpFull.gap / Math.sqrt(dim));
    if (goal === "separable") status = "separated";
  }
  const { sA, sB } = support();
  return finish(sA, sB);

  /** The LP found a common point: overlap, witnessed by the rows carrying weight in it. */
  function overlapFromLp(lp: ReturnType<typeof runLp>, rowsA: ArrayLike<number>, rowsB: ArrayLike<number>): HullResult {
    status = "overlap";
    lower = 0;
    upper = Math.min(upper, lp.gap);
    const fa: number[] = [];
    const fb: number[] = [];
    for (let i = 0; i < rowsA.length; i++) if (lp.lambda[i] > 0) fa.push(rowsA[i]);
    for (let j = 0; j < rowsB.length; j++) if (lp.mu[j] > 0) fb.push(rowsB[j]);
    return finish(fa, fb);
  }

  function finish(supportA: number[], supportB: number[]): HullResult {
    return { status, lower, upper, w: z, minA, maxB, supportA, supportB, iterations, passes, lpSolves, lpSeconds, solver: "mdm" };
  }
}

function runLp(mA: Matrix, a: ArrayLike<number>, mB: Matrix, b: ArrayLike<number>, timeLimitSeconds = 600) {
  if (mA === mB) return hullGapLp(mA, a, b, timeLimitSeconds);
  // Different matrices (e.g. a test point against a cluster): stack the rows into one matrix for the LP.
  const dim = mA.dim;
  const data = new Float32Array((a.length + b.length) * dim);
  for (let i = 0; i < a.length; i++) data.set(mA.data.subarray(a[i] * dim, (a[i] + 1) * dim), i * dim);
  for (let j = 0; j < b.length; j++) data.set(mB.data.subarray(b[j] * dim, (b[j] + 1) * dim), (a.length + j) * dim);
  const ia = Array.from({ length: a.length }, (_, i) => i);
  const ib = Array.from({ length: b.length }, (_, j) => a.length + j);
  return hullGapLp({ n: a.length + b.length, dim, data }, ia, ib, timeLimitSeconds);
}

/** The warm start as positions and weights, when weights were given for both sides. */
function warmStart(A: PointSet, B: PointSet, opts: HullOptions): { posA: number[]; weightA: number[]; posB: number[]; weightB: number[] } | undefined {
  const { warmA, warmB, warmWeightA, warmWeightB } = opts;
  if (!warmA || !warmB || !warmWeightA || !warmWeightB || warmA.length === 0 || warmB.length === 0) return undefined;
  const side = (set: PointSet, rows: ArrayLike<number>, weights: ArrayLike<number>): { pos: number[]; weight: number[] } => {
    const byRow = new Map<number, number>();
    for (let i = 0; i < rows.length; i++) byRow.set(rows[i], (byRow.get(rows[i]) ?? 0) + weights[i]);
    const pos: number[] = [];
    const weight: number[] = [];
    for (const p of positionsOf(set.rows, rows)) {
      pos.push(p);
      weight.push(byRow.get(set.rows[p])!);
    }
    return { pos, weight };
  };
  const a = side(A, warmA, warmWeightA);
  const b = side(B, warmB, warmWeightB);
  if (a.pos.length === 0 || b.pos.length === 0) return undefined;
  return { posA: a.pos, weightA: a.weight, posB: b.pos, weightB: b.weight };
}

/** Distinct positions in `rows` of the given row numbers (rows not in the list are ignored). */
function positionsOf(rows: ArrayLike<number>, wanted: ArrayLike<number>): number[] {
  const want = new Set<number>();
  for (let i = 0; i < wanted.length; i++) want.add(wanted[i]);
  const out: number[] = [];
  for (let i = 0; i < rows.length && want.size > 0; i++) {
    if (want.has(rows[i])) {
      out.push(i);
      want.delete(rows[i]);
    }
  }
  return out;
}
