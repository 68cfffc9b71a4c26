/**
 * DirectProbe (lib/geometry) applied to one layer of one model folder on a task split, with the results cached on
 * disk under cacheDir("geometry", <checkpoint id>, <task>, <split>-layer<k>.json), so that 4.1 and 4.2 share their
 * clusterings, 4.3 and 4.5 share the snapshots', and a kernel restart reads them. Also the light measures the
 * sections need on top: label centroids, spatial similarity of two spaces, and a small PCA.
 */
import * as fs from "node:fs";
import { labelCentroids as centroidsOfMatrix } from "../geometry/centroids";
import { makeMatrix } from "../geometry/matrix";
import { labelDistances, spatialSimilarity as similarityOf, type LabelDistances } from "../geometry/measures";
import { pca as pcaOf } from "../geometry/pca";
import type { LayerData } from "../reps/store";
import { writeJsonAtomic } from "../util/atomic";
import { cacheDir } from "../util/paths";
import type { AnalysisContext } from "./context";
import { modelLayer } from "./reps";
import * as crypto from "node:crypto";
import { clusterLayer, followLayer, predictByClusters, type LayerClusters } from "./direct";

export interface SpaceGeometry {
  checkpointId: string;
  /** The representation store's hash of the examples (words, targets, labels) the vectors belong to. */
  examplesHash: string;
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
  /**
   * "fresh": DirectProbe on this space; otherwise the clusters were followed from another space (the previous
   * snapshot) and this is a hash of that chain. `reclustered`: following was tried and the clusters overlapped here.
   */
  key: string;
  followedFrom: string | null;
  reclustered: boolean;
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

const VERSION = 3;

function geometryFile(checkpointId: string, task: string, split: string, layer: number, key: string): string {
  const name = key === "fresh" ? `${split}-layer${layer}.json` : `${split}-layer${layer}-follow-${key}.json`;
  return cacheDir("geometry", checkpointId, task.replace(/[^A-Za-z0-9._~-]/g, "_"), name);
}

function followKey(prev: SpaceGeometry): string {
  return crypto.createHash("sha256").update(`${prev.key}\n${prev.checkpointId}\n${prev.layer}`).digest("hex").slice(0, 16);
}

/** DirectProbe on already loaded vectors (no cache); with `follow`, the clusters of that space are reused when still separable. */
export async function geometryOfLayer(
  data: LayerData,
  meta: { checkpointId: string; examplesHash: string; task: string; split: string; layer: number },
  follow?: SpaceGeometry,
): Promise<SpaceGeometry> {
  const t0 = Date.now();
  const c: LayerClusters & { reclustered?: boolean } = follow ? await followLayer(data, follow) : await clusterLayer(data);
  const labels = [...new Set(Array.from(data.labels))].sort((a, b) => a - b);
  const { matrix: distances, minDistance } = labelDistances(c.clusterLabels, c.distances, labels);
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
    key: follow ? followKey(follow) : "fresh",
    followedFrom: follow ? follow.checkpointId : null,
    reclustered: c.reclustered ?? false,
    seconds: (Date.now() - t0) / 1000,
    version: VERSION,
  };
}

/**
 * DirectProbe of one layer of a model folder on a split of the task's analysis view (cached). With `follow` (the
 * geometry of the previous snapshot, same task, split and layer), its clusters are reused when still separable
 * here: the dynamics of 4.3 and 4.5 then need one clustering per chain instead of one per snapshot. A followed
 * geometry is cached under its chain, never mixed with a fresh one, so results do not depend on what ran before.
 */
export async function spaceGeometry(ctx: AnalysisContext, dir: string, task: string, split: string, layer: number, follow?: SpaceGeometry): Promise<SpaceGeometry> {
  const view = ctx.taskViews(task).analysis;
  const data = await ctx.timings.time("extract", () => modelLayer(dir, view, split, layer, ctx.progress));
  if (follow && follow.checkpointId === data.checkpointId) return follow;
  const key = follow ? followKey(follow) : "fresh";
  const file = geometryFile(data.checkpointId, view.name, split, layer, key);
  if (fs.existsSync(file)) {
    try {
      const g = JSON.parse(fs.readFileSync(file, "utf8")) as SpaceGeometry;
      if (g.version === VERSION && g.n === data.n && g.checkpointId === data.checkpointId && g.examplesHash === data.examplesHash && g.key === key) return g;
    } catch {
      // unreadable: recompute
    }
  }
  const g = await ctx.timings.time("directprobe", () => geometryOfLayer(data, { checkpointId: data.checkpointId, examplesHash: data.examplesHash, task: view.name, split, layer }, follow));
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

/** The label distances of a space in lib/geometry's form. */
export function asLabelDistances(g: Pick<SpaceGeometry, "labels" | "distances" | "minDistance">): LabelDistances {
  const vector: number[] = [];
  for (let i = 0; i < g.labels.length; i++) for (let j = i + 1; j < g.labels.length; j++) vector.push(g.distances[i][j]);
  return { labels: g.labels, matrix: g.distances, minDistance: g.minDistance, vector };
}

/**
 * Spatial similarity of two spaces (lib/geometry/measures): Pearson correlation of their distance vectors over
 * the labels both have. Null when it is undefined (fewer than 2 shared label pairs, or a constant vector), so
 * that results stay valid JSON.
 */
export function spaceSimilarity(a: SpaceGeometry, b: SpaceGeometry): number | null {
  const r = similarityOf(asLabelDistances(a), asLabelDistances(b)).similarity;
  return Number.isFinite(r) ? r : null;
}

/** DirectProbe's prediction accuracy: test points take the label of the nearest train cluster (convex hull). */
export async function directAccuracy(ctx: AnalysisContext, dir: string, task: string, layer: number): Promise<number> {
  const view = ctx.taskViews(task).analysis;
  const g = await spaceGeometry(ctx, dir, task, "train", layer);
  const train = await modelLayer(dir, view, "train", layer, ctx.progress);
  const test = await modelLayer(dir, view, "test", layer, ctx.progress);
  return ctx.timings.time("directprobe", async () => {
    const pred = await predictByClusters(train, g.assignment, g.clusterLabels, test);
    let right = 0;
    for (let i = 0; i < test.n; i++) if (pred[i] === test.labels[i]) right++;
    return test.n > 0 ? right / test.n : NaN;
  });
}

/** Mean vector of each label's rows (label index -> centroid). */
export function centroidsOf(data: Pick<LayerData, "n" | "dim" | "data" | "labels">): Map<number, number[]> {
  const c = centroidsOfMatrix(makeMatrix(data.n, data.dim, data.data), data.labels);
  return new Map(c.labels.map((l, i) => [l, Array.from(c.centroids[i])]));
}

/** Label centroids of one layer of a model folder on a split of the task's analysis view. */
export async function spaceCentroids(ctx: AnalysisContext, dir: string, task: string, split: string, layer: number): Promise<{ centroids: Map<number, number[]> }> {
  const data = await modelLayer(dir, ctx.taskViews(task).analysis, split, layer, ctx.progress);
  return { centroids: centroidsOf(data) };
}

export interface PcaScores {
  /** Coordinates of each row on the first k principal components (0 where fewer components exist). */
  scores: number[][];
  /** Variance share of each of the k components (0 where fewer exist). */
  explained: number[];
}

/** PCA (lib/geometry/pca) reduced to what the figures need; fewer than 2 rows give zeros. */
export function pcaScores(rows: number[][], k = 2): PcaScores {
  if (rows.length < 2) return { scores: rows.map(() => new Array<number>(k).fill(0)), explained: new Array<number>(k).fill(0) };
  const r = pcaOf(rows, k);
  const pad = (xs: number[]) => Array.from({ length: k }, (_, i) => (Number.isFinite(xs[i]) ? xs[i] : 0));
  return { scores: r.scores.map(pad), explained: pad(r.explained) };
}

/** Remove every cached geometry of a checkpoint (tests, or after changing lib/geometry). */
export function clearGeometryCache(checkpointId?: string): void {
  fs.rmSync(checkpointId ? cacheDir("geometry", checkpointId) : cacheDir("geometry"), { recursive: true, force: true });
}
