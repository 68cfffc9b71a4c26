/**
 * Measures taken from DirectProbe clusters (Zhou & Srikumar 2021, 2022):
 *  - distance between two clusters = Euclidean distance between their convex hulls = twice the margin of the
 *    hard-margin linear SVM separating them (0 when they overlap);
 *  - label distance = mean over the two labels' cluster pairs; each label's minimum distance to another label;
 *  - distance vector = the label-pair distances in a fixed order; spatial similarity of two spaces = Pearson
 *    correlation of their distance vectors over the labels both have;
 *  - prediction: a point takes the label of the nearest cluster (point-to-hull distance).
 */
import { argError } from "../util/errors";
import { hullDistance, HullOptions } from "./hull";
import { Matrix } from "./matrix";

export interface ClusterLike {
  label: number;
  members: ArrayLike<number>;
}

export interface DistanceOptions {
  /** Relative accuracy of each distance (default 1e-4). */
  relTol?: number;
  /** Also measure pairs of clusters with the same label (the reference does not; default false). */
  sameLabel?: boolean;
  hull?: HullOptions;
}

/**
 * Hull distance between every two clusters (symmetric, 0 on the diagonal). Same-label pairs are NaN unless
 * options.sameLabel. The value is the upper end of the certified interval (an attained distance).
 */
export function clusterDistanceMatrix(m: Matrix, clusters: ClusterLike[], opts: DistanceOptions = {}): number[][] {
  const k = clusters.length;
  const d = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let v = NaN;
      if (opts.sameLabel || clusters[a].label !== clusters[b].label) {
        const r = hullDistance({ m, rows: clusters[a].members }, { m, rows: clusters[b].members }, { ...opts.hull, goal: "distance", relTol: opts.relTol ?? 1e-4 });
        v = r.status === "overlap" ? 0 : r.upper;
      }
      d[a][b] = v;
      d[b][a] = v;
    }
  }
  return d;
}

export interface LabelDistances {
  /** The labels, ascending: the row/column order of `matrix` and the pair order of `vector`. */
  labels: number[];
  /** Mean hull distance over the two labels' cluster pairs; 0 on the diagonal. */
  matrix: number[][];
  /** Each label's smallest distance to another label (NaN with a single label). */
  minDistance: number[];
  /** Upper triangle of `matrix`, row by row: (l0,l1), (l0,l2), ..., (l1,l2), ... */
  vector: number[];
}

export function labelDistances(clusterLabels: number[], clusterDist: number[][], labels?: number[]): LabelDistances {
  const ls = labels ?? [...new Set(clusterLabels)].sort((a, b) => a - b);
  const pos = new Map(ls.map((l, i) => [l, i]));
  const k = ls.length;
  const sum = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const cnt = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < clusterLabels.length; a++) {
    for (let b = 0; b < clusterLabels.length; b++) {
      const la = pos.get(clusterLabels[a]);
      const lb = pos.get(clusterLabels[b]);
      if (la === undefined || lb === undefined || la === lb) continue;
      sum[la][lb] += clusterDist[a][b];
      cnt[la][lb]++;
    }
  }
  const matrix = sum.map((r, i) => r.map((s, j) => (i === j ? 0 : cnt[i][j] > 0 ? s / cnt[i][j] : NaN)));
  const minDistance = matrix.map((r, i) => {
    let best = Infinity;
    r.forEach((v, j) => {
      if (j !== i && Number.isFinite(v) && v < best) best = v;
    });
    return Number.isFinite(best) ? best : NaN;
  });
  const vector: number[] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) vector.push(matrix[i][j]);
  return { labels: ls, matrix, minDistance, vector };
}

/** Pearson correlation (NaN when either vector is constant or shorter than 2). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw argError("pearson", `vectors of different lengths ${x.length} and ${y.length}`);
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] - mx;
    const b = y[i] - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * Spatial similarity of two spaces: Pearson correlation of their label distance vectors restricted to the
 * labels both have (pairs with a NaN distance in either are left out).
 */
export function spatialSimilarity(a: LabelDistances, b: LabelDistances): { similarity: number; labels: number[]; pairs: number } {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const ia = new Map(a.labels.map((l, i) => [l, i]));
  const ib = new Map(b.labels.map((l, i) => [l, i]));
  const x: number[] = [];
  const y: number[] = [];
  for (let s = 0; s < shared.length; s++) {
    for (let t = s + 1; t < shared.length; t++) {
      const va = a.matrix[ia.get(shared[s])!][ia.get(shared[t])!];
      const vb = b.matrix[ib.get(shared[s])!][ib.get(shared[t])!];
      if (Number.isFinite(va) && Number.isFinite(vb)) {
        x.push(va);
        y.push(vb);
      }
    }
  }
  return { similarity: pearson(x, y), labels: shared, pairs: x.length };
}

export interface Prediction {
  /** Predicted label per test point. */
  labels: Int32Array;
  /** Index of the nearest cluster per test point. */
  cluster: Int32Array;
  /** Distance from each test point to its nearest cluster's hull. */
  distance: Float64Array;
  /** Fraction of test points whose prediction equals the given true label (NaN without true labels). */
  accuracy: number;
  hullSolves: number;
}

/**
 * Nearest-cluster prediction. Exact up to the solver's relTol: clusters are visited in order of a lower bound on
 * their distance (distance to the bounding sphere) and skipped once that bound exceeds the best distance found.
 */
export function predictNearestCluster(
  m: Matrix,
  clusters: ClusterLike[],
  test: Matrix,
  trueLabels?: ArrayLike<number>,
  opts: { relTol?: number; hull?: HullOptions } = {},
): Prediction {
  if (test.dim !== m.dim) throw argError("test", `has ${test.dim} dimensions, the clusters' space has ${m.dim}`);
  if (trueLabels && trueLabels.length !== test.n) throw argError("trueLabels", `expected ${test.n} labels, got ${trueLabels.length}`);
  const dim = m.dim;
  const spheres = clusters.map((c) => {
    const centre = new Float64Array(dim);
    for (let i = 0; i < c.members.length; i++) for (let k = 0; k < dim; k++) centre[k] += m.data[c.members[i] * dim + k];
    for (let k = 0; k < dim; k++) centre[k] /= c.members.length;
    let r2 = 0;
    for (let i = 0; i < c.members.length; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (m.data[c.members[i] * dim + k] - centre[k]) ** 2;
      r2 = Math.max(r2, s);
    }
    return { centre, radius: Math.sqrt(r2) };
  });
  const out: Prediction = {
    labels: new Int32Array(test.n),
    cluster: new Int32Array(test.n),
    distance: new Float64Array(test.n),
    accuracy: NaN,
    hullSolves: 0,
  };
  let correct = 0;
  for (let t = 0; t < test.n; t++) {
    const bounds = spheres.map((s, c) => {
      let d2 = 0;
      for (let k = 0; k < dim; k++) d2 += (test.data[t * dim + k] - s.centre[k]) ** 2;
      const d = Math.sqrt(d2);
      return { c, lower: Math.max(0, d - s.radius), upper: d };
    });
    bounds.sort((a, b) => a.lower - b.lower || a.c - b.c);
    let best = -1;
    let bestD = Infinity;
    for (const bd of bounds) {
      if (bd.lower > bestD || (bd.lower === bestD && best >= 0)) break;
      const c = clusters[bd.c];
      let d: number;
      if (c.members.length === 1) {
        d = bd.upper;
      } else {
        const r = hullDistance({ m, rows: c.members }, { m: test, rows: [t] }, { ...opts.hull, goal: "distance", relTol: opts.relTol ?? 1e-4 });
        out.hullSolves++;
        d = r.status === "overlap" ? 0 : r.upper;
      }
      if (d < bestD || (d === bestD && bd.c < best)) {
        bestD = d;
        best = bd.c;
      }
    }
    out.cluster[t] = best;
    out.labels[t] = clusters[best].label;
    out.distance[t] = bestD;
    if (trueLabels && out.labels[t] === trueLabels[t]) correct++;
  }
  if (trueLabels) out.accuracy = test.n > 0 ? correct / test.n : NaN;
  return out;
}
