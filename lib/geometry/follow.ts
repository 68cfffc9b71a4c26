/**
 * Following one clustering through fine-tuning snapshots or layers (the reference's batch mode,
 * utahnlp/BERT-fine-tuning-analysis batch_probing.py): the clusters found in one space are reused in another
 * space over the same examples, after checking that they are still pairwise separable there; only if some
 * pair now overlaps is the new space clustered from scratch. The dynamics figures then need one clustering,
 * not one per snapshot, while the space stays linear.
 */
import { argError } from "../util/errors";
import { directProbe, DirectProbeOptions, DirectProbeResult } from "./directprobe";
import { HullOptions } from "./hull";
import { checkLabels, Matrix } from "./matrix";
import { ClusterLike } from "./measures";
import { geomOf, OverlapOracle } from "./overlap";

export interface ClusterCheck {
  separable: boolean;
  /** First overlapping pair found (cluster indices), when not separable. */
  overlap?: [number, number];
  hullSolves: number;
  seconds: number;
}

/** Are the given clusters pairwise separable (different labels only) in the space m? */
export function clustersSeparable(m: Matrix, clusters: ClusterLike[], hull?: HullOptions): ClusterCheck {
  const t0 = performance.now();
  const oracle = new OverlapOracle(m, hull);
  const owner = new Int32Array(m.n).fill(-1);
  const geoms = clusters.map((c, i) => {
    const members = Int32Array.from(c.members);
    members.forEach((p) => {
      if (p < 0 || p >= m.n) throw argError(`clusters[${i}]`, `member ${p} is not a row of the ${m.n}-point space`);
      owner[p] = i;
    });
    return geomOf(m, i, c.label, members);
  });
  for (const g of geoms) {
    const others = geoms.filter((x) => x.id < g.id && x.label !== g.label);
    const hit = oracle.firstOverlap(g, others, owner, [g.id]);
    if (hit) return { separable: false, overlap: [hit.id, g.id], hullSolves: oracle.stats.hullSolves, seconds: (performance.now() - t0) / 1000 };
  }
  return { separable: true, hullSolves: oracle.stats.hullSolves, seconds: (performance.now() - t0) / 1000 };
}

export interface FollowResult {
  /** Clusters valid in the new space: the given ones if still separable, else DirectProbe's new ones. */
  clusters: ClusterLike[];
  reclustered: boolean;
  check: ClusterCheck;
  /** The new clustering when one was needed. */
  probe?: DirectProbeResult;
}

/**
 * Reuses `clusters` (from another space over the same rows) in space m if they are still separable, otherwise
 * runs DirectProbe on m. `minClusterSize` drops smaller clusters first, as the reference's batch mode does
 * with 6 (it keeps clusters of more than 5 points); the default 1 keeps all.
 */
export function followClusters(
  m: Matrix,
  labels: ArrayLike<number>,
  clusters: ClusterLike[],
  opts: { minClusterSize?: number; probe?: DirectProbeOptions } = {},
): FollowResult {
  checkLabels(m, labels);
  const kept = clusters.filter((c) => c.members.length >= (opts.minClusterSize ?? 1));
  for (const [i, c] of kept.entries()) {
    for (let t = 0; t < c.members.length; t++) {
      if (labels[c.members[t]] !== c.label) throw argError(`clusters[${i}]`, `point ${c.members[t]} has label ${labels[c.members[t]]}, the cluster has ${c.label}`);
    }
  }
  const check = clustersSeparable(m, kept, opts.probe?.hull);
  if (check.separable) return { clusters: kept, reclustered: false, check };
  const probe = directProbe(m, labels, opts.probe);
  return { clusters: probe.clusters, reclustered: true, check, probe };
}
