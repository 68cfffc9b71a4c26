/**
 * The bridge from the analyses to DirectProbe (lib/geometry): cluster one layer's vectors, measure the distances
 * between the clusters (hull distance = twice the hard-margin SVM margin), and predict test points by the nearest
 * cluster, for vectors from the representation store. Composition of lib/geometry only.
 */
import { clusterDistanceMatrix, predictNearestCluster as nearestCluster } from "../geometry/measures";
import { initLp } from "../geometry/lp";
import { makeMatrix, selectRows, type Matrix } from "../geometry/matrix";
import { directProbe, findLabelConflicts } from "../geometry/directprobe";
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

/** Label of the nearest cluster (Euclidean distance from the point to the cluster's convex hull) for each test row. */
export async function predictNearestCluster(train: LayerData, assignment: ArrayLike<number>, clusterLabels: number[], test: LayerData): Promise<Int32Array> {
  await initLp();
  const members = membersOf(assignment, clusterLabels.length);
  const clusters = members.map((rows, k) => ({ label: clusterLabels[k], members: rows }));
  return nearestCluster(layerMatrix(train), clusters, layerMatrix(test)).labels;
}
