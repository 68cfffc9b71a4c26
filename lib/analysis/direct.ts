/**
 * The bridge from the analyses to DirectProbe (lib/geometry): cluster one layer's vectors, measure the distances
 * between the clusters (hull distance = twice the hard-margin SVM margin), and predict test points by the nearest
 * cluster. Everything here is composition of lib/geometry; no geometry is re-implemented.
 */
import { hullDistance } from "../geometry/hull";
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
  /** Hull distance between every two clusters (0 on the diagonal and for overlapping hulls). */
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

/** Hull distances between every two clusters of one space. */
export function clusterDistances(m: Matrix, members: number[][]): number[][] {
  const k = members.length;
  const d = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const r = hullDistance({ m, rows: members[a] }, { m, rows: members[b] }, { goal: "distance" });
      const v = r.status === "overlap" ? 0 : r.upper;
      d[a][b] = v;
      d[b][a] = v;
    }
  }
  return d;
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
  return { clusterLabels: r.clusters.map((c) => c.label), assignment, distances: clusterDistances(full, members), conflicting };
}

/** Label of the nearest cluster (Euclidean distance from the point to the cluster's convex hull) for each test row. */
export async function predictNearestCluster(train: LayerData, assignment: ArrayLike<number>, clusterLabels: number[], test: LayerData): Promise<Int32Array> {
  await initLp();
  const m = layerMatrix(train);
  const members = membersOf(assignment, clusterLabels.length);
  const t = layerMatrix(test);
  const out = new Int32Array(test.n);
  for (let i = 0; i < test.n; i++) {
    let best = Infinity;
    let label = -1;
    for (let k = 0; k < members.length; k++) {
      const r = hullDistance({ m: t, rows: [i] }, { m, rows: members[k] }, { goal: "distance" });
      const dist = r.status === "overlap" ? 0 : r.upper;
      if (dist < best) {
        best = dist;
        label = clusterLabels[k];
      }
    }
    out[i] = label;
  }
  return out;
}
