/**
 * Label centroids of a space and how they move between two checkpoints (Euclidean distance per label).
 */
import { argError } from "../util/errors";
import { checkLabels, Matrix } from "./matrix";

export interface LabelCentroids {
  /** Labels present, ascending. */
  labels: number[];
  /** centroids[i] is the mean of the points with label labels[i]. */
  centroids: Float64Array[];
  counts: number[];
}

export function labelCentroids(m: Matrix, labels: ArrayLike<number>): LabelCentroids {
  checkLabels(m, labels);
  const sums = new Map<number, { sum: Float64Array; count: number }>();
  for (let i = 0; i < m.n; i++) {
    let s = sums.get(labels[i]);
    if (!s) sums.set(labels[i], (s = { sum: new Float64Array(m.dim), count: 0 }));
    const off = i * m.dim;
    for (let k = 0; k < m.dim; k++) s.sum[k] += m.data[off + k];
    s.count++;
  }
  const ls = [...sums.keys()].sort((a, b) => a - b);
  return {
    labels: ls,
    centroids: ls.map((l) => {
      const s = sums.get(l)!;
      return s.sum.map((v) => v / s.count);
    }),
    counts: ls.map((l) => sums.get(l)!.count),
  };
}

/** Euclidean distance each shared label's centroid moved from `before` to `after` (same space dimension). */
export function centroidMovement(before: LabelCentroids, after: LabelCentroids): { labels: number[]; movement: number[] } {
  const idx = new Map(after.labels.map((l, i) => [l, i]));
  const labels: number[] = [];
  const movement: number[] = [];
  before.labels.forEach((l, i) => {
    const j = idx.get(l);
    if (j === undefined) return;
    const a = before.centroids[i];
    const b = after.centroids[j];
    if (a.length !== b.length) throw argError("after", `centroids have ${b.length} dimensions, before has ${a.length}`);
    let s = 0;
    for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
    labels.push(l);
    movement.push(Math.sqrt(s));
  });
  return { labels, movement };
}

/** after - before for each shared label (the vectors whose PCA section 4.5 plots). */
export function centroidDifferences(before: LabelCentroids, after: LabelCentroids): { labels: number[]; vectors: Float64Array[] } {
  const idx = new Map(after.labels.map((l, i) => [l, i]));
  const labels: number[] = [];
  const vectors: Float64Array[] = [];
  before.labels.forEach((l, i) => {
    const j = idx.get(l);
    if (j === undefined) return;
    labels.push(l);
    vectors.push(after.centroids[j].map((v, k) => v - before.centroids[i][k]));
  });
  return { labels, vectors };
}
