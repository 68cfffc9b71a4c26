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

export interface CorralOptions {
  /** "separable": stop at the first certificate of separation or overlap; "distance": until upper - lower <= relTol * upper. */
  goal: "separable" | "distance";
  relTol: number;
  /** Distances at or below this count as 0 (overlap); margins above it certify separation. Absolute. */
  zeroTol: number;
  /** Budget of major cycles (points added). */
  maxMajor?: number;
  /** Points (positions in A's and B's row lists) whose best pair starts the corral instead of the projection extremes. */
  startA?: number;
  startB?: number;
  /** Direction to pick the starting pair: the points of A and B most extreme along it. Default: centroid difference. */
  direction?: Float64Array;
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
  /** Why an undecided result stopped (numerical stall, budget). */
  reason?: string;
}

/** Float64 copy of a point set's rows, translated by `shift` (the problem is translation invariant). */
function centredRows(set: PointSet, shift: Float64Array): Float64Array {
  const { m, rows } = set;
  const dim = m.dim;
  const out = new Float64Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const off = rows[i] * dim;
    const o = i * dim;
    for (let k = 0; k < dim; k++) out[o + k] = m.data[off + k] - shift[k];
  }
  return out;
}

function dotAt(x: Float64Array, i: number, y: Float64Array, j: number, dim: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // prettier-ignore
  let a = i * dim;
  let b = j * dim;
  let k = 0;
  for (; k + 3 < dim; k += 4, a += 4, b += 4) {
    s0 += x[a] * y[b];
    s1 += x[a + 1] * y[b + 1];
    s2 += x[a + 2] * y[b + 2];
    s3 += x[a + 3] * y[b + 3];
  }
  for (; k < dim; k++, a++, b++) s0 += x[a] * y[b];
  return s0 + s1 + s2 + s3;
}

/** out[i] = row i of x . z for all n rows. */
function projectRows(x: Float64Array, n: number, dim: number, z: Float64Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let off = i * dim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // prettier-ignore
    let k = 0;
    for (; k + 3 < dim; k += 4, off += 4) {
      s0 += x[off] * z[k];
      s1 += x[off + 1] * z[k + 1];
      s2 += x[off + 2] * z[k + 2];
      s3 += x[off + 3] * z[k + 3];
    }
    for (; k < dim; k++, off++) s0 += x[off] * z[k];
    out[i] = s0 + s1 + s2 + s3;
  }
}

/**
 * The corral: members, weights and the Cholesky factor of their lifted Gram matrix. R is upper triangular,
 * stored row-major with stride cap; column k belongs to member k.
 */
class Corral {
  side: number[] = []; // +1: A, -1: B
  pos: number[] = []; // position in its side's list
  weight: number[] = [];
  R = new Float64Array(0);
  cap = 0;

  constructor(
    private readonly xa: Float64Array,
    private readonly xb: Float64Array,
    private readonly dim: number,
    /** Squared lifting constant c^2 (same order as the squared norms of the centred points). */
    private readonly lift: number,
  ) {}

  get size(): number {
    return this.side.length;
  }

  has(side: number, pos: number): boolean {
    for (let k = 0; k < this.side.length; k++) if (this.side[k] === side && this.pos[k] === pos) return true;
    return false;
  }

  /** Lifted inner product of member-to-be (side, pos) with member k. */
  private lifted(side: number, pos: number, k: number): number {
    const x = side > 0 ? this.xa : this.xb;
    const y = this.side[k] > 0 ? this.xa : this.xb;
    const d = dotAt(x, pos, y, this.pos[k], this.dim) * side * this.side[k];
    return side === this.side[k] ? d + this.lift : d;
  }

  /**
   * Adds a point with weight 0 if its lifted vector is independent of the corral's (relative pivot above
   * `pivotTol`). Returns false (corral unchanged) otherwise.
   */
  add(side: number, pos: number, pivotTol: number): boolean {
    const k = this.size;
    if (k >= this.cap) {
      const cap = Math.max(16, this.cap * 2);
      const next = new Float64Array(cap * cap);
      for (let i = 0; i < k; i++) next.set(this.R.subarray(i * this.cap, i * this.cap + k), i * cap);
      this.R = next;
      this.cap = cap;
    }
    const { R, cap } = this;
    // Solve R' r = h (forward substitution), h = lifted products with the members.
    let rr = 0;
    for (let i = 0; i < k; i++) {
      let s = this.lifted(side, pos, i);
      for (let j = 0; j < i; j++) s -= R[j * cap + i] * R[j * cap + k];
      const v = s / R[i * cap + i];
      R[i * cap + k] = v;
      rr += v * v;
    }
    const x = side > 0 ? this.xa : this.xb;
    const hkk = dotAt(x, pos, x, pos, this.dim) + this.lift;
    const rho2 = hkk - rr;
    if (!(rho2 > pivotTol * hkk)) {
      for (let i = 0; i < k; i++) R[i * cap + k] = 0;
      return false;
    }
    R[k * cap + k] = Math.sqrt(rho2);
    this.side.push(side);
    this.pos.push(pos);
    this.weight.push(0);
    return true;
  }

  /** Removes member j: delete column j of R and restore the triangle with Givens rotations. */
  remove(j: number): void {
    const { R, cap } = this;
    const k = this.size;
    // Shift columns j+1.. left by one (rows 0..k-1).
    for (let i = 0; i < k; i++) {
      const r = i * cap;
      for (let c = j; c < k - 1; c++) R[r + c] = R[r + c + 1];
      R[r + k - 1] = 0;
    }
    // Now rows i and i+1 (i >= j) have a subdiagonal entry R[i+1][i]; rotate it away.
    for (let i = j; i < k - 1; i++) {
      const a = R[i * cap + i];
      const b = R[(i + 1) * cap + i];
      if (b === 0) continue;
      const h = Math.hypot(a, b);
      const c = a / h;
      const s = b / h;
      for (let col = i; col < k - 1; col++) {
        const x = R[i * cap + col];
        const y = R[(i + 1) * cap + col];
        R[i * cap + col] = c * x + s * y;
        R[(i + 1) * cap + col] = -s * x + c * y;
      }
    }
    // Keep the diagonal positive (a rotation may flip a sign; R'R is unchanged by flipping a whole row).
    for (let i = j; i < k - 1; i++) {
      if (R[i * cap + i] < 0) for (let col = i; col < k - 1; col++) R[i * cap + col] = -R[i * cap + col];
    }
    for (let col = 0; col < k; col++) R[(k - 1) * cap + col] = 0;
    this.side.splice(j, 1);
    this.pos.splice(j, 1);
    this.weight.splice(j, 1);
  }

  /** Solves H x = b in place (b overwritten with x). */
  private solveH(b: Float64Array): void {
    const { R, cap } = this;
    const k = this.size;
    for (let i = 0; i < k; i++) {
      let s = b[i];
      for (let j = 0; j < i; j++) s -= R[j * cap + i] * b[j];
      b[i] = s / R[i * cap + i];
    }
    for (let i = k - 1; i >= 0; i--) {
      let s = b[i];
      const r = i * cap;
      for (let j = i + 1; j < k; j++) s -= R[r + j] * b[j];
      b[i] = s / R[r + i];
    }
  }

  /** The affine minimiser's weights u (sum over A = 1, sum over B = 1), or undefined if numerically singular. */
  affineMinimiser(): Float64Array | undefined {
    const k = this.size;
    const xA = new Float64Array(k);
    const xB = new Float64Array(k);
    for (let i = 0; i < k; i++) (this.side[i] > 0 ? xA : xB)[i] = 1;
    this.solveH(xA);
    this.solveH(xB);
    // u = cA xA + cB xB with e_A.u = 1 and e_B.u = 1.
    let aa = 0, ab = 0, ba = 0, bb = 0; // prettier-ignore
    for (let i = 0; i < k; i++) {
      if (this.side[i] > 0) {
        aa += xA[i];
        ab += xB[i];
      } else {
        ba += xA[i];
        bb += xB[i];
      }
    }
    const det = aa * bb - ab * ba;
    if (!Number.isFinite(det) || det === 0) return undefined;
    const cA = (bb - ab) / det;
    const cB = (aa - ba) / det;
    const u = new Float64Array(k);
    for (let i = 0; i < k; i++) u[i] = cA * xA[i] + cB * xB[i];
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

/**
 * Nearest points of hull(A) and hull(B) by the corral method, with certified bounds. "undecided" only when
 * rounding stops the method before a certificate (the caller then falls back to another solver).
 */
export function corralHullDistance(A: PointSet, B: PointSet, opts: CorralOptions): CorralResult {
  const dim = A.m.dim;
  const nA = A.rows.length;
  const nB = B.rows.length;
  // Centre on the midpoint of the two centroids; scale the lift to the points' spread.
  const cA = new Float64Array(dim);
  const cB = new Float64Array(dim);
  for (const [set, c] of [
    [A, cA],
    [B, cB],
  ] as const) {
    for (let i = 0; i < set.rows.length; i++) {
      const off = set.rows[i] * dim;
      for (let k = 0; k < dim; k++) c[k] += set.m.data[off + k];
    }
    for (let k = 0; k < dim; k++) c[k] /= set.rows.length;
  }
  const shift = new Float64Array(dim);
  for (let k = 0; k < dim; k++) shift[k] = 0.5 * (cA[k] + cB[k]);
  const xa = centredRows(A, shift);
  const xb = centredRows(B, shift);
  let meanSq = 0;
  for (let i = 0; i < xa.length; i++) meanSq += xa[i] * xa[i];
  for (let i = 0; i < xb.length; i++) meanSq += xb[i] * xb[i];
  meanSq /= nA + nB;
  const lift = Math.max(meanSq, 1e-300);
  const corral = new Corral(xa, xb, dim, lift);
  const pivotTol = 1e-13;

  const projA = new Float64Array(nA);
  const projB = new Float64Array(nB);
  const z = new Float64Array(dim);

  // Starting pair: the points of each side reaching furthest towards the other along the given direction.
  let ia = opts.startA ?? -1;
  let ib = opts.startB ?? -1;
  if (ia < 0 || ib < 0) {
    const dir = opts.direction ?? Float64Array.from(cA, (v, k) => v - cB[k]);
    projectRows(xa, nA, dim, dir, projA);
    projectRows(xb, nB, dim, dir, projB);
    if (ia < 0) {
      ia = 0;
      for (let i = 1; i < nA; i++) if (projA[i] < projA[ia]) ia = i;
    }
    if (ib < 0) {
      ib = 0;
      for (let j = 1; j < nB; j++) if (projB[j] > projB[ib]) ib = j;
    }
  }
  corral.add(1, ia, 0);
  corral.add(-1, ib, 0);
  corral.weight[0] = 1;
  corral.weight[1] = 1;

  const maxMajor = opts.maxMajor ?? 4 * (dim + 2) + 100;
  let major = 0;
  let minor = 0;
  let lower = 0;
  let upper = Infinity;
  let minA = 0;
  let maxB = 0;
  let bestZ2 = Infinity;
  let reason: string | undefined;
  let status: CorralResult["status"] = "undecided";
  const wz = new Float64Array(dim);

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
    // z from the data and the exact convex weights: the certified upper bound.
    z.fill(0);
    for (let i = 0; i < corral.size; i++) {
      const w = corral.weight[i] * corral.side[i];
      const x = corral.side[i] > 0 ? xa : xb;
      const off = corral.pos[i] * dim;
      for (let k = 0; k < dim; k++) z[k] += w * x[off + k];
    }
    let z2 = 0;
    for (let k = 0; k < dim; k++) z2 += z[k] * z[k];
    const zn = Math.sqrt(z2);
    projectRows(xa, nA, dim, z, projA);
    projectRows(xb, nB, dim, z, projB);
    let ka = 0;
    let kb = 0;
    for (let i = 1; i < nA; i++) if (projA[i] < projA[ka]) ka = i;
    for (let j = 1; j < nB; j++) if (projB[j] > projB[kb]) kb = j;
    if (zn < upper) {
      upper = zn;
      wz.set(z);
    }
    // Projections are of centred points; the margin (difference) is translation invariant. Report them uncentred.
    let zs = 0;
    for (let k = 0; k < dim; k++) zs += z[k] * shift[k];
    if (zn > 0 && (projA[ka] - projB[kb]) / zn > lower) {
      lower = (projA[ka] - projB[kb]) / zn;
    }
    minA = projA[ka] + zs;
    maxB = projB[kb] + zs;
    if (upper <= opts.zeroTol) {
      status = "overlap";
      lower = 0;
      break;
    }
    if (lower > opts.zeroTol && (opts.goal === "separable" || upper - lower <= opts.relTol * upper)) {
      status = "separated";
      break;
    }
    if (!ok) break;
    if (!(z2 < bestZ2)) {
      reason = "no decrease";
      break;
    }
    bestZ2 = z2;
    if (major >= maxMajor) {
      reason = "major-cycle budget";
      break;
    }
    // The corral's own level on each side (all members share it at the affine minimiser).
    let alpha = 0;
    let beta = 0;
    for (let i = 0; i < corral.size; i++) {
      if (corral.side[i] > 0) alpha += corral.weight[i] * projA[corral.pos[i]];
      else beta += corral.weight[i] * projB[corral.pos[i]];
    }
    const vA = alpha - projA[ka];
    const vB = projB[kb] - beta;
    const eps = 1e-12 * (z2 + lift * 1e-6);
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
      reason = vA > eps || vB > eps ? "dependent violator" : "optimal";
      break;
    }
  }
  // Final certificate for the "separated" direction uses the best z found (upper); lower is already certified.
  if (status === "separated" || status === "undecided") {
    // w must be the z whose projections gave minA/maxB when separated: that is the current z.
    wz.set(z);
  }
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
  return { status, lower, upper, w: wz, minA, maxB, posA, posB, weightA, weightB, major, minor, reason };
}
