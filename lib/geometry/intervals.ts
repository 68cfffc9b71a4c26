/**
 * Projection intervals: every cluster's [min, max] of its points' projections on a few fixed unit directions (by
 * default the differences of the label centroids, one per label pair). Two clusters whose intervals on one
 * direction are apart by more than the overlap tolerance are separated by the hyperplane normal to it, decided in
 * O(directions) instead of a pass over a cluster's points: in 128 dimensions the bounding spheres of most pairs
 * of large clusters meet, and those pairs were each decided by projecting a child's points (DirectProbe's late
 * phase: thousands of such pairs per accepted merge). A merge's intervals are the union of its parts', exactly.
 *
 * The test only ever says "separated" where the true distance of the hulls exceeds the tolerance, so it agrees with
 * the exact solver; it never says "overlap".
 */
import { ClusterGeom } from "./overlap";
import { Matrix, projectRows } from "./matrix";

export class ProjectionIntervals {
  /** Projections, point-major: proj[p * D + j] = u_j . row p (dotRow's sums). */
  private readonly proj: Float64Array;
  /** Bound on the rounding of one computed projection (all of them). */
  readonly err: number;
  private readonly firstTables = new Map<number, Int32Array>();
  readonly size: number;

  constructor(
    private readonly m: Matrix,
    readonly directions: Float64Array[],
    /** Index of the direction to try first for a pair of labels, if any (e.g. the pair's own centroid difference). */
    private readonly firstFor: (la: number, lb: number) => number = () => -1,
    /** The largest label firstFor knows (for firstDirTable). */
    private readonly maxLabel = -1,
  ) {
    const n = m.n;
    const D = directions.length;
    this.size = D;
    for (const [j, u] of directions.entries()) {
      if (u.length !== m.dim) throw new RangeError(`ProjectionIntervals: direction ${j} has ${u.length} values, expected ${m.dim}`);
      let n2 = 0;
      for (let k = 0; k < u.length; k++) n2 += u[k] * u[k];
      if (!(Math.abs(Math.sqrt(n2) - 1) <= 1e-12)) throw new RangeError(`ProjectionIntervals: direction ${j} is not a unit vector (norm ${Math.sqrt(n2)})`);
    }
    // Computed per direction (the native kernel), kept point-major: a cluster's intervals read its members' rows.
    this.proj = new Float64Array(D * n);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const column = new Float64Array(n);
    for (let j = 0; j < D; j++) {
      projectRows(m, all, directions[j], column);
      for (let p = 0; p < n; p++) this.proj[p * D + j] = column[p];
    }
    // A computed u.x differs from the true one by at most dim * 2^-53 * |u| |x| (|u| = 1 within 1e-12).
    let maxNorm2 = 0;
    for (let p = 0; p < n; p++) {
      let s = 0;
      for (let k = 0; k < m.dim; k++) s += m.data[p * m.dim + k] ** 2;
      if (s > maxNorm2) maxNorm2 = s;
    }
    this.err = (m.dim + 8) * 2 ** -52 * Math.sqrt(maxNorm2);
  }

  /** lo[j] then hi[j] (2 D values), from the parts when given (a merge), else from the members. */
  of(g: ClusterGeom, parts?: [ClusterGeom, ClusterGeom]): Float64Array {
    let iv = g.intervals;
    if (iv) return iv;
    const D = this.size;
    iv = new Float64Array(2 * D);
    if (parts) {
      const a = this.of(parts[0]);
      const b = this.of(parts[1]);
      for (let j = 0; j < D; j++) {
        iv[j] = Math.min(a[j], b[j]);
        iv[D + j] = Math.max(a[D + j], b[D + j]);
      }
    } else {
      const mem = g.members;
      iv.fill(Infinity, 0, D);
      iv.fill(-Infinity, D, 2 * D);
      for (let i = 0; i < mem.length; i++) {
        const o = mem[i] * D;
        for (let j = 0; j < D; j++) {
          const v = this.proj[o + j];
          if (v < iv[j]) iv[j] = v;
          if (v > iv[D + j]) iv[D + j] = v;
        }
      }
    }
    g.intervals = iv;
    return iv;
  }

  /** firstFor(label, l) for l = 0 .. the largest label with a direction (the native kernel's lookup table). */
  firstDirTable(label: number): Int32Array {
    let t = this.firstTables.get(label);
    if (!t) {
      t = new Int32Array(this.maxLabel + 1);
      for (let l = 0; l <= this.maxLabel; l++) t[l] = this.firstFor(label, l);
      this.firstTables.set(label, t);
    }
    return t;
  }

  /**
   * True if on some direction the clusters' intervals are apart by more than `gap` (the overlap tolerance times the
   * pair's scale) plus what rounding can explain: the hulls are then farther apart than `gap`.
   */
  apart(a: ClusterGeom, b: ClusterGeom, ia: Float64Array, ib: Float64Array, gap: number): boolean {
    const D = this.size;
    const need = gap * (1 + 1e-9) + 2 * this.err;
    // The pair's own direction first, then the others in order, as the native kernel (ivfilter) tries them.
    const first = this.firstDirTable(a.label)[b.label] ?? -1;
    const apartOn = (j: number): boolean => ib[j] - ia[D + j] > need || ia[j] - ib[D + j] > need;
    if (first >= 0 && first < D && apartOn(first)) return true;
    for (let j = 0; j < D; j++) if (j !== first && apartOn(j)) return true;
    return false;
  }
}

/**
 * Unit vectors between the label centroids, one per pair of labels, and the index of each pair's direction: the
 * directions that tend to separate clusters of those two labels. At most `maxDirections` (memory: every point keeps
 * its projections, every cluster its intervals): then the pairs of the most frequent labels (largest product of the
 * two counts; ties in label order), whose clusters are the most numerous.
 */
export function labelPairDirections(
  m: Matrix,
  labels: ArrayLike<number>,
  maxDirections = Infinity,
): { directions: Float64Array[]; indexOf: (la: number, lb: number) => number; maxLabel: number } {
  const dim = m.dim;
  const sums = new Map<number, { sum: Float64Array; n: number }>();
  for (let p = 0; p < m.n; p++) {
    let s = sums.get(labels[p]);
    if (!s) sums.set(labels[p], (s = { sum: new Float64Array(dim), n: 0 }));
    for (let k = 0; k < dim; k++) s.sum[k] += m.data[p * dim + k];
    s.n++;
  }
  const ls = [...sums.keys()].sort((x, y) => x - y);
  const centre = new Map(ls.map((l) => [l, sums.get(l)!.sum.map((v) => v / sums.get(l)!.n)]));
  const pairs: [number, number][] = [];
  for (let i = 0; i < ls.length; i++) for (let j = i + 1; j < ls.length; j++) pairs.push([ls[i], ls[j]]);
  const weight = ([a, b]: [number, number]): number => sums.get(a)!.n * sums.get(b)!.n;
  if (pairs.length > maxDirections) pairs.sort((p, q) => weight(q) - weight(p) || p[0] - q[0] || p[1] - q[1]).splice(Math.max(0, maxDirections));
  const directions: Float64Array[] = [];
  const index = new Map<number, number>();
  for (const [la, lb] of pairs) {
    const ci = centre.get(la)!;
    const cj = centre.get(lb)!;
    const u = new Float64Array(dim);
    let n2 = 0;
    for (let k = 0; k < dim; k++) {
      u[k] = cj[k] - ci[k];
      n2 += u[k] * u[k];
    }
    if (!(n2 > 0)) continue;
    const n = Math.sqrt(n2);
    for (let k = 0; k < dim; k++) u[k] /= n;
    index.set(la * 65536 + lb, directions.length);
    directions.push(u);
  }
  return { directions, indexOf: (la, lb) => index.get(la < lb ? la * 65536 + lb : lb * 65536 + la) ?? -1, maxLabel: ls.length > 0 ? ls[ls.length - 1] : -1 };
}
