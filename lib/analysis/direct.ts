/**
 * The bridge from the analyses to DirectProbe (lib/geometry): cluster one layer's vectors, measure the distances
 * between the clusters (hull distance = twice the hard-margin SVM margin), and predict test points by the nearest
 * cluster. Everything here is composition of lib/geometry; no geometry is re-implemented.
 */
import { hullDistance } from "../geometry/hull";
import { initLp } from "../geometry/lp";
import { makeMatrix, type Matrix } from "../geometry/matrix";
import type { LayerData } from "../reps/store";
import { FtgeoError } from "../util/errors";

export interface LayerClusters {
  /** Label of each cluster. */
  clusterLabels: number[];
  /** Cluster of each row. */
  assignment: Int32Array;
  /** Hull distance between every two clusters (0 on the diagonal and for overlapping hulls). */
  distances: number[][];
}

interface ClusterModule {
  directProbe(m: Matrix, labels: ArrayLike<number>): { clusters: { label: number; members: number[] }[] };
}

function clusterModule(): ClusterModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require("../geometry/cluster") as ClusterModule;
  } catch (e) {
    throw new FtgeoError(`DirectProbe clustering (lib/geometry/cluster) is not available: ${(e as Error).message}`);
  }
}

function layerMatrix(d: Pick<LayerData, "n" | "dim" | "data">): Matrix {
  return makeMatrix(d.n, d.dim, d.data);
}

function membersOf(assignment: ArrayLike<number>, k: number): number[][] {
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < assignment.length; i++) out[assignment[i]].push(i);
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
  const m = layerMatrix(data);
  const r = clusterModule().directProbe(m, data.labels);
  const assignment = new Int32Array(data.n).fill(-1);
  r.clusters.forEach((c, k) => c.members.forEach((i) => (assignment[i] = k)));
  const missing = assignment.indexOf(-1);
  if (missing >= 0) throw new FtgeoError(`DirectProbe left row ${missing} outside every cluster`);
  const clusterLabels = r.clusters.map((c) => c.label);
  return { clusterLabels, assignment, distances: clusterDistances(m, r.clusters.map((c) => c.members)) };
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
