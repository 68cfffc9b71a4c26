/**
 * The bridge from the analyses to DirectProbe (lib/geometry): cluster one layer's vectors, measure the distances
 * between the clusters (hull distance = twice the hard-margin SVM margin), and predict test points by the nearest
 * cluster, for vectors from the representation store. Composition of lib/geometry only.
 */
import { clusterDistanceMatrix, predictNearestCluster as nearestCluster } from "../geometry/measures";
import { initLp } from "../geometry/lp";
import { makeMatrix, selectRows, type Matrix } from "../geometry/matrix";
import { directProbe, findLabelConflicts } from "../geometry/directprobe";
import { clustersSeparable } from "../geometry/follow";
import type { LayerData } from "../reps/store";
import { FtgeoError } from "../util/errors";

export interface LayerClusters {
  /** Label of each cluster. */
  clusterLabels: number[];
  /** Cluster of each row. */
  assignment: Int32Array;
  /** Hull distance between every two clusters (0 on the diagonal and for overlapping hulls; NaN for same-label pairs). */
  distances: number[][];
  /**
   * Rows left out because identical vectors carry different labels (no hyperplane separates them; DirectProbe
   * refuses such input): their assignment is -1.
   */
  conflicting: number[];
}


function layerMatrix(d: Pick<LayerData, "n" | "dim" | "data">): Matrix {
  return makeMatrix(d.n, d.dim, d.data);
}

function membersOf(assignment: ArrayLike<number>, k: number): number[][] {
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < assignment.length; i++) if (assignment[i] >= 0) out[assignment[i]].push(i);
  return out;
}

/** DirectProbe clusters of a layer and the distances between them. */
export async function clusterLayer(data: LayerData): Promise<LayerClusters> {
  await initLp();
  const full = layerMatrix(data);
  // Identical vectors with different labels (a repeated sentence labelled differently) make DirectProbe's
  // question unanswerable; leave them out and say so rather than fail the whole section.
  const conflicting = findLabelConflicts(full, data.labels).flatMap((c) => c.points).sort((a, b) => a - b);
  const dropped = new Set(conflicting);
  const kept = Array.from({ length: data.n }, (_, i) => i).filter((i) => !dropped.has(i));
  const m = conflicting.length > 0 ? selectRows(full, kept) : full;
  const labels = conflicting.length > 0 ? Int32Array.from(kept, (i) => data.labels[i]) : data.labels;
  const r = directProbe(m, labels);
  const assignment = new Int32Array(data.n).fill(-1);
  r.clusters.forEach((c, k) => c.members.forEach((i) => (assignment[kept[i]] = k)));
  for (const i of kept) if (assignment[i] < 0) throw new FtgeoError(`DirectProbe left row ${i} outside every cluster`);
  const members = r.clusters.map((c) => Array.from(c.members, (i) => kept[i]));
  return { clusterLabels: r.clusters.map((c) => c.label), assignment, distances: clusterDistanceMatrix(full, members.map((rows, k) => ({ label: r.clusters[k].label, members: rows }))), conflicting };
}

/**
 * Reuse the clusters of another space over the same rows (the previous snapshot, as the reference's batch mode
 * does) when they are still pairwise separable here; otherwise cluster this space from scratch. Rows outside the
 * previous clusters (label conflicts) stay outside.
 */
export async function followLayer(data: LayerData, prev: { assignment: ArrayLike<number>; clusterLabels: number[]; conflicting: number[] }): Promise<LayerClusters & { reclustered: boolean }> {
  if (prev.assignment.length !== data.n) throw new FtgeoError(`followLayer: the previous clustering covers ${prev.assignment.length} rows, this space has ${data.n}`);
  await initLp();
  const m = layerMatrix(data);
  const members = membersOf(prev.assignment, prev.clusterLabels.length);
  const clusters = members.map((rows, k) => ({ label: prev.clusterLabels[k], members: rows }));
  for (const [k, c] of clusters.entries()) {
    for (const i of c.members) if (data.labels[i] !== c.label) throw new FtgeoError(`followLayer: row ${i} has label ${data.labels[i]} here but belongs to cluster ${k} of label ${c.label}`);
  }
  if (clustersSeparable(m, clusters).separable) {
    return {
      clusterLabels: prev.clusterLabels.slice(),
      assignment: Int32Array.from(prev.assignment),
      distances: clusterDistanceMatrix(m, clusters),
      conflicting: prev.conflicting.slice(),
      reclustered: false,
    };
  }
  return { ...(await clusterLayer(data)), reclustered: true };
}

/** Label of the nearest cluster (Euclidean distance from the point to the cluster's convex hull) for each test row. */
export async function predictByClusters(train: LayerData, assignment: ArrayLike<number>, clusterLabels: number[], test: LayerData): Promise<Int32Array> {
  await initLp();
  const members = membersOf(assignment, clusterLabels.length);
  const clusters = members.map((rows, k) => ({ label: clusterLabels[k], members: rows }));
  return nearestCluster(layerMatrix(train), clusters, layerMatrix(test)).labels;
}
