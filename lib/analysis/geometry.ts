/**
 * DirectProbe (lib/geometry) applied to one layer of one model folder on a task split, with the results cached on
 * disk under cacheDir("geometry", <checkpoint id>, <task>, <split>-layer<k>.json), so that 4.1 and 4.2 share their
 * clusterings, 4.3 and 4.5 share the snapshots', and a kernel restart reads them. Also the light measures the
 * sections need on top: label centroids, spatial similarity of two spaces, and a small PCA.
 */
import * as fs from "node:fs";
import { EigenvalueDecomposition, Matrix as MlMatrix } from "ml-matrix";
import type { LayerData } from "../reps/store";
import { writeJsonAtomic } from "../util/atomic";
import { argError } from "../util/errors";
import { cacheDir } from "../util/paths";
import type { AnalysisContext } from "./context";
import { modelLayer } from "./reps";
import { clusterLayer, predictNearestCluster } from "./direct";

export interface SpaceGeometry {
  checkpointId: string;
  task: string;
  split: string;
  layer: number;
  n: number;
  dim: number;
  /** Labels (task label indices) present in the split, ascending. */
  labels: number[];
  numClusters: number;
  /** One cluster per label: the labels are linearly separable. */
  linear: boolean;
  /** Label of each cluster. */
  clusterLabels: number[];
  /** Cluster of each row of the stored layer. */
  assignment: number[];
  /** Label distances over `labels` (mean over their clusters' pairs of hull distances); 0 on the diagonal. */
  distances: number[][];
  /** Each label's smallest distance to another label (NaN for a single label). */
  minDistance: number[];
  /** Rows left out of the clustering: identical vectors with different labels. */
  conflicting: number[];
  seconds: number;
  version: number;
}

export interface GeometrySummary {
  labels: number;
  clusters: number;
  linear: boolean;
  examples: number;
  meanMinDistance: number;
  seconds: number;
}

const VERSION = 1;

function geometryFile(checkpointId: string, task: string, split: string, layer: number): string {
  return cacheDir("geometry", checkpointId, task.replace(/[^A-Za-z0-9._~-]/g, "_"), `${split}-layer${layer}.json`);
}

/** Label distances (mean over cluster pairs) and minimum distances from a cluster distance matrix. */
export function labelDistances(labels: number[], clusterLabels: number[], clusterDist: number[][]): { distances: number[][]; minDistance: number[] } {
  const pos = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const sum = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const cnt = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < clusterLabels.length; a++) {
    for (let b = 0; b < clusterLabels.length; b++) {
      const la = pos.get(clusterLabels[a]);
      const lb = pos.get(clusterLabels[b]);
      if (la === undefined || lb === undefined || la === lb) continue;
      sum[la][lb] += clusterDist[a][b];
      cnt[la][lb] += 1;
    }
  }
  const distances = sum.map((row, i) => row.map((s, j) => (i === j ? 0 : cnt[i][j] > 0 ? s / cnt[i][j] : NaN)));
  const minDistance = distances.map((row, i) => {
    let m = Infinity;
    row.forEach((d, j) => {
      if (j !== i && Number.isFinite(d)) m = Math.min(m, d);
    });
    return Number.isFinite(m) ? m : NaN;
  });
  return { distances, minDistance };
}

/** DirectProbe on already loaded vectors (no cache). */
export async function geometryOfLayer(data: LayerData, meta: { checkpointId: string; task: string; split: string; layer: number }): Promise<SpaceGeometry> {
  const t0 = Date.now();
  const c = await clusterLayer(data);
  const labels = [...new Set(Array.from(data.labels))].sort((a, b) => a - b);
  const { distances, minDistance } = labelDistances(labels, c.clusterLabels, c.distances);
  return {
    ...meta,
    n: data.n,
    dim: data.dim,
    labels,
    numClusters: c.clusterLabels.length,
    linear: c.clusterLabels.length === labels.length,
    clusterLabels: c.clusterLabels,
    assignment: Array.from(c.assignment),
    distances,
    minDistance,
    conflicting: c.conflicting,
    seconds: (Date.now() - t0) / 1000,
    version: VERSION,
  };
}

/** DirectProbe of one layer of a model folder on a split of the task's analysis view (cached). */
export async function spaceGeometry(ctx: AnalysisContext, dir: string, task: string, split: string, layer: number): Promise<SpaceGeometry> {
  const view = ctx.taskViews(task).analysis;
  const data = await ctx.timings.time("extract", () => modelLayer(dir, view, split, layer, ctx.progress));
  const file = geometryFile(data.checkpointId, view.name, split, layer);
  if (fs.existsSync(file)) {
    try {
      const g = JSON.parse(fs.readFileSync(file, "utf8")) as SpaceGeometry;
      if (g.version === VERSION && g.n === data.n && g.checkpointId === data.checkpointId) return g;
    } catch {
      // unreadable: recompute
    }
  }
  const g = await ctx.timings.time("directprobe", () => geometryOfLayer(data, { checkpointId: data.checkpointId, task: view.name, split, layer }));
  writeJsonAtomic(file, g);
  return g;
}

export function summarize(g: SpaceGeometry): GeometrySummary {
  const finite = g.minDistance.filter(Number.isFinite);
  return {
    labels: g.labels.length,
    clusters: g.numClusters,
    linear: g.linear,
    examples: g.n,
    meanMinDistance: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN,
    seconds: g.seconds,
  };
}

/** Pearson correlation of two vectors (null when either is constant or shorter than 2). */
export function pearson(x: number[], y: number[]): number | null {
  const n = x.length;
  if (n !== y.length) throw argError("pearson", `vectors of length ${n} and ${y.length}`);
  if (n < 2) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Spatial similarity: Pearson correlation of the two distance vectors (label-pair distances) over the label pairs
 * both spaces have (the paper's measure; a split may lack rare labels). Null when fewer than 2 pairs are shared
 * or a vector is constant.
 */
export function spatialSimilarity(a: SpaceGeometry, b: SpaceGeometry): number | null {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < shared.length; i++) {
    for (let j = i + 1; j < shared.length; j++) {
      const ai = a.labels.indexOf(shared[i]);
      const aj = a.labels.indexOf(shared[j]);
      const bi = b.labels.indexOf(shared[i]);
      const bj = b.labels.indexOf(shared[j]);
      const u = a.distances[ai][aj];
      const v = b.distances[bi][bj];
      if (Number.isFinite(u) && Number.isFinite(v)) {
        x.push(u);
        y.push(v);
      }
    }
  }
  return pearson(x, y);
}

/** DirectProbe's prediction accuracy: test points take the label of the nearest train cluster (convex hull). */
export async function directAccuracy(ctx: AnalysisContext, dir: string, task: string, layer: number): Promise<number> {
  const view = ctx.taskViews(task).analysis;
  const g = await spaceGeometry(ctx, dir, task, "train", layer);
  const train = await modelLayer(dir, view, "train", layer, ctx.progress);
  const test = await modelLayer(dir, view, "test", layer, ctx.progress);
  return ctx.timings.time("directprobe", async () => {
    const pred = await predictNearestCluster(train, g.assignment, g.clusterLabels, test);
    let right = 0;
    for (let i = 0; i < test.n; i++) if (pred[i] === test.labels[i]) right++;
    return test.n > 0 ? right / test.n : NaN;
  });
}

/** Mean vector of each label's rows. */
export function centroidsOf(data: Pick<LayerData, "n" | "dim" | "data" | "labels">): Map<number, number[]> {
  const sums = new Map<number, Float64Array>();
  const counts = new Map<number, number>();
  for (let i = 0; i < data.n; i++) {
    const l = data.labels[i];
    let s = sums.get(l);
    if (!s) sums.set(l, (s = new Float64Array(data.dim)));
    const off = i * data.dim;
    for (let k = 0; k < data.dim; k++) s[k] += data.data[off + k];
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const out = new Map<number, number[]>();
  for (const [l, s] of [...sums.entries()].sort((a, b) => a[0] - b[0])) out.set(l, Array.from(s, (v) => v / counts.get(l)!));
  return out;
}

/** Label centroids of one layer of a model folder on a split of the task's analysis view. */
export async function labelCentroids(ctx: AnalysisContext, dir: string, task: string, split: string, layer: number): Promise<{ centroids: Map<number, number[]> }> {
  const data = await modelLayer(dir, ctx.taskViews(task).analysis, split, layer, ctx.progress);
  return { centroids: centroidsOf(data) };
}

export interface PcaResult {
  /** Projection of each row on the first k principal components. */
  scores: number[][];
  /** Variance share of each returned component. */
  explained: number[];
}

/**
 * PCA of a few rows (centroids: tens of rows, up to 768 columns) through the eigendecomposition of the small
 * centred Gram matrix (n x n instead of dim x dim). Component signs are fixed so that the largest |loading| of each
 * score vector is positive, which makes results deterministic across platforms.
 */
export function pca(rows: number[][], k = 2): PcaResult {
  const n = rows.length;
  if (n === 0) return { scores: [], explained: [] };
  const dim = rows[0].length;
  const mean = new Array<number>(dim).fill(0);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += r[j] / n;
  const c = rows.map((r) => r.map((v, j) => v - mean[j]));
  const gram = new MlMatrix(n, n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += c[i][t] * c[j][t];
      gram.set(i, j, s);
      gram.set(j, i, s);
    }
  const evd = new EigenvalueDecomposition(gram, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = values.map((v, i) => [v, i] as [number, number]).sort((a, b) => b[0] - a[0]);
  const total = values.reduce((a, v) => a + Math.max(0, v), 0);
  const comps = order.slice(0, Math.min(k, n));
  const scores = Array.from({ length: n }, () => new Array<number>(k).fill(0));
  const explained: number[] = [];
  comps.forEach(([val, idx], j) => {
    const lambda = Math.max(0, val);
    // Scores of the rows on component j = sqrt(lambda) * (unit eigenvector of the Gram matrix).
    const col = Array.from({ length: n }, (_, i) => vectors.get(i, idx) * Math.sqrt(lambda));
    let big = 0;
    for (const v of col) if (Math.abs(v) > Math.abs(big)) big = v;
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) scores[i][j] = sign * col[i];
    explained.push(total > 0 ? lambda / total : 0);
  });
  while (explained.length < k) explained.push(0);
  return { scores, explained };
}

/** Remove every cached geometry of a checkpoint (tests, or after changing lib/geometry). */
export function clearGeometryCache(checkpointId?: string): void {
  fs.rmSync(checkpointId ? cacheDir("geometry", checkpointId) : cacheDir("geometry"), { recursive: true, force: true });
}
