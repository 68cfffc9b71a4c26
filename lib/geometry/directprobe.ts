/**
 * DirectProbe (Zhou & Srikumar, NAACL 2021): supervised bottom-up clustering that keeps every cluster's convex
 * hull clear of the other labels' clusters. Same-label clusters merge, closest centroids first; a merge is
 * allowed only if the merged hull overlaps no cluster of another label; stop when no allowed merge is left.
 *
 * Search strategy (the reference's, utahnlp/DirectProbe probing.py, in an equivalent form):
 *  1. Merging without checks always ends with one cluster per label, whatever the order: if those hulls are
 *     pairwise separable, that is the answer (the labels are linearly separable).
 *  2. Otherwise the unchecked merge sequence (per-label centroid linkage, interleaved by distance as the
 *     reference's global heap does) is searched for its first state with an overlap. Clusters only grow along
 *     the sequence, so "has an overlap" is monotone and a binary search finds it (the reference first steps
 *     back coarsely, then bisects: same state). The checked process agrees with the unchecked one up to that
 *     state, because no merge was vetoed before it.
 *  3. From the last state without overlap, merging continues with a check before every merge.
 *
 * Inherited vetoes (option inheritVetoes, default OFF). The checked process proposes the closest same-label pair
 * (ties: smaller ids) that was not vetoed, vetoes it if the merged hull overlaps a cluster of another label, and
 * never proposes a vetoed pair again. With exact geometry the veto is monotone (if a ∪ b overlapped z, then for
 * live A ⊇ a, B ⊇ b and the live Z ⊇ z the hull of A ∪ B overlaps Z's), so skipping every pair whose parts
 * contain a vetoed pair's parts would change no merge: both processes accept the closest pair whose merge is not
 * vetoed. The check as computed is not monotone, though: "overlap" means a hull distance below 1e-5 of the pair's
 * scale (centroid distance plus radii), and that scale can shrink as clusters grow (a centroid moves, a radius
 * shrinks), while most small clusters' hulls in 128 dimensions are apart by a tiny positive distance rather than
 * intersecting; a stored witness also vetoes only when the bounding spheres meet. On pos 30k (embedded model)
 * inheritance cut the vetoes from 172,980 to 9,903 but changed 35 of the 62 clusters, so it stays off by default:
 * the clusters are the reference process's, re-checking every re-proposed pair.
 *
 * Veto hints (always on) make those re-checks cheap without changing one: a vetoed pair's overlap witness is handed
 * to the pairs its parts grow into, and when such a pair is proposed that witness is tested first, with a test that
 * passes only where the full witness lookup (witnessedMergeOverlap) would veto too (OverlapOracle.hintedMergeOverlap);
 * otherwise the full check runs as before. On pos 30k, 162,136 of the 172,980 vetoes are decided so.
 */
import { FtgeoError } from "../util/errors";
import { Progress, ProgressSink, silentSink } from "../util/progress";
import { agglomerate, AggCluster, MergeRecord } from "./agglomerate";
import { LinkageJob, linkLabels } from "./linkage";
import { HullOptions } from "./hull";
import { labelPairDirections, ProjectionIntervals } from "./intervals";
import { checkLabels, Matrix } from "./matrix";
import { ClusterGeom, ensureSpread, geomOf, OverlapOracle, OverlapStats, SpherePool, VetoHint } from "./overlap";
import { pca } from "./pca";

export interface DirectProbeOptions {
  hull?: HullOptions;
  /** Progress sink (default: silent). */
  progress?: ProgressSink;
  /** "search" (default): the reference's strategy; "forward": checked merging from single points (slow; for tests). */
  strategy?: "search" | "forward";
  /**
   * Skip re-proposing pairs whose parts contain a vetoed pair's parts (default false: with the tolerance-based check
   * this can change the clusters, see above).
   */
  inheritVetoes?: boolean;
  /** Test a re-proposed pair against its vetoed ancestor's witness first (default true; same answers, for tests). */
  vetoHints?: boolean;
  /**
   * Decide pairs by their projection intervals on the label-pair centroid directions before any per-point work
   * (default true; intervals.ts). Exact: a pair is ruled out only where the hulls are farther apart than the tolerance.
   */
  intervals?: boolean;
  /**
   * Extend the merged cluster's hyperplanes to many other clusters per native call (default true when the distance
   * addon has extremebatch; same answers and counts either way, false for tests).
   */
  batchExtensions?: boolean;
}

export interface Cluster {
  label: number;
  /** Point indices, ascending. */
  members: Int32Array;
}

export interface DirectProbeStats extends OverlapStats {
  points: number;
  dim: number;
  labels: number;
  /** Merges of the unchecked sequence, and its first state with an overlap (-1 if the end state has none). */
  uncheckedMerges: number;
  firstOverlapState: number;
  statesSearched: number;
  checkedMerges: number;
  vetoedMerges: number;
  /** Vetoes decided by a hint handed down from a vetoed ancestor pair (see checkedMerging). */
  hintedVetoes: number;
  seconds: { total: number; linearCheck: number; linkage: number; search: number; forward: number };
}

export interface DirectProbeResult {
  /** Final clusters, sorted by label then smallest member. */
  clusters: Cluster[];
  /** Cluster index of every point. */
  assignment: Int32Array;
  /** Labels present in the data. */
  labels: number[];
  numClusters: number;
  /** One cluster per label: a linear classifier separates the labels. */
  linear: boolean;
  stats: DirectProbeStats;
}

/** Groups of identical points that carry different labels: no hyperplane can ever separate them. */
export interface LabelConflict {
  points: number[];
  labels: number[];
}

export function findLabelConflicts(m: Matrix, labels: ArrayLike<number>): LabelConflict[] {
  const dim = m.dim;
  const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < m.n; i++) {
    // FNV-1a over the row's bytes, then exact comparison within a bucket.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    const off = i * dim * 4;
    for (let t = 0; t < dim * 4; t++) {
      h1 = Math.imul(h1 ^ bytes[off + t], 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ bytes[off + t], 0x811c9dc5) >>> 0;
    }
    const k = `${h1}:${h2}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  const conflicts: LabelConflict[] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const firstLabel = labels[g[0]];
    if (g.every((p) => labels[p] === firstLabel)) continue;
    // Split the bucket into exactly-equal rows (hash collisions are possible in principle).
    const rest = [...g];
    while (rest.length > 0) {
      const p = rest.shift()!;
      const same = [p];
      for (let t = rest.length - 1; t >= 0; t--) {
        const q = rest[t];
        let eq = true;
        for (let k = 0; k < dim && eq; k++) eq = m.data[p * dim + k] === m.data[q * dim + k];
        if (eq) {
          same.push(q);
          rest.splice(t, 1);
        }
      }
      const ls = [...new Set(same.map((x) => labels[x]))].sort((a, b) => a - b);
      if (ls.length > 1) conflicts.push({ points: same.sort((a, b) => a - b), labels: ls });
    }
  }
  return conflicts.sort((a, b) => a.points[0] - b.points[0]);
}

export class LabelConflictError extends FtgeoError {
  constructor(readonly conflicts: LabelConflict[], labelNames?: string[]) {
    const name = (l: number): string => (labelNames ? labelNames[l] ?? String(l) : String(l));
    const shown = conflicts
      .slice(0, 10)
      .map((c) => `points ${c.points.join(", ")} (labels ${c.labels.map(name).join(", ")})`)
      .join("; ");
    super(
      `${conflicts.length} group(s) of identical points carry different labels, so no linear boundary can separate ` +
        `the labels and DirectProbe has no answer: ${shown}${conflicts.length > 10 ? "; ..." : ""}. ` +
        `Remove or relabel these points (or deduplicate the inputs) and run again.`,
    );
    this.name = "LabelConflictError";
  }
}

/** Runs DirectProbe on points with integer labels. Throws LabelConflictError for identical points with different labels. */
export function directProbe(m: Matrix, labels: ArrayLike<number>, opts: DirectProbeOptions = {}): DirectProbeResult {
  checkLabels(m, labels);
  const conflicts = findLabelConflicts(m, labels);
  if (conflicts.length > 0) throw new LabelConflictError(conflicts);
  const t0 = performance.now();
  const n = m.n;
  const sink = opts.progress ?? silentSink();
  const oracle = new OverlapOracle(m, opts.hull, { batchExtensions: opts.batchExtensions });
  let intervals: ProjectionIntervals | undefined;
  if (opts.intervals !== false) {
    // The points' projections and the clusters' intervals (in the pool and on the clusters) take about 3 x 8 bytes
    // per point and direction: keep that under 1.5 GiB (pos, 136 directions: 0.6 GiB).
    const maxDirections = Math.max(16, Math.floor((1.5 * 2 ** 30) / (24 * Math.max(1, n))));
    const { directions, indexOf, maxLabel } = labelPairDirections(m, labels, maxDirections);
    if (directions.length > 0 && maxLabel < 65536) intervals = new ProjectionIntervals(m, directions, indexOf, maxLabel);
    oracle.useIntervals(intervals);
  }
  const directions = spreadDirections(m);
  // Projection intervals only in checked merging's pool: a search state's pool would hold them for every cluster of
  // the state (hundreds of MB each on full POS) to decide the pairs of its few new clusters.
  const newPool = (withIntervals = false): SpherePool => new SpherePool(m.dim, directions, withIntervals ? intervals : undefined);
  const labelSet = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const stats: DirectProbeStats = {
    ...oracle.stats,
    points: n,
    dim: m.dim,
    labels: labelSet.length,
    uncheckedMerges: 0,
    firstOverlapState: -1,
    statesSearched: 0,
    checkedMerges: 0,
    vetoedMerges: 0,
    hintedVetoes: 0,
    seconds: { total: 0, linearCheck: 0, linkage: 0, search: 0, forward: 0 },
  };
  const membersByLabel = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    let list = membersByLabel.get(labels[i]);
    if (!list) membersByLabel.set(labels[i], (list = []));
    list.push(i);
  }

  let final: AggCluster[];
  // 1. The end state of unchecked merging: one cluster per label.
  let t = performance.now();
  const endState = labelSet.map((l, i) => geomOf(m, n + i, l, Int32Array.from(membersByLabel.get(l)!)));
  const endOwner = new Int32Array(n);
  endState.forEach((c) => c.members.forEach((p) => (endOwner[p] = c.id)));
  const linearNow = stateIsClear(oracle, newPool(), endState, endOwner, () => true);
  stats.seconds.linearCheck = (performance.now() - t) / 1000;
  if (linearNow) {
    final = endState.map((c) => ({ id: c.id, label: c.label, members: c.members }));
  } else if (opts.strategy === "forward") {
    t = performance.now();
    const singles = Array.from({ length: n }, (_, i) => geomOf(m, i, labels[i], Int32Array.of(i)));
    final = checkedMerging(m, oracle, newPool(true), singles, n + labelSet.length, stats, sink, opts);
    stats.seconds.forward = (performance.now() - t) / 1000;
  } else {
    // 2. The unchecked sequence: per-label centroid linkage, interleaved by merge distance.
    t = performance.now();
    const linkProgress = new Progress("directprobe linkage", n - labelSet.length, "merges", sink);
    const jobs: LinkageJob[] = [];
    let nextId = n + labelSet.length;
    for (const l of labelSet) {
      const members = Int32Array.from(membersByLabel.get(l)!);
      jobs.push({ label: l, members, firstId: nextId });
      nextId += members.length - 1;
    }
    let reported = 0;
    const perLabel = linkLabels(m, jobs, (done) => {
      linkProgress.update(done, done - reported);
      reported = done;
    });
    const sequence = interleave(perLabel);
    stats.uncheckedMerges = sequence.length;
    stats.seconds.linkage = (performance.now() - t) / 1000;

    // Renumber merged clusters in global order so that ids grow along the sequence.
    const renamed = new Map<number, number>();
    let id = n + labelSet.length;
    for (const rec of sequence) renamed.set(rec.id, id++);
    const global = sequence.map((r) => ({ a: renamed.get(r.a) ?? r.a, b: renamed.get(r.b) ?? r.b, id: renamed.get(r.id)!, label: r.label }));
    const firstIdAfter = id;

    // 3. Binary search for the first state with an overlap (state T = end state is known to have one).
    t = performance.now();
    let good = 0;
    let bad = global.length;
    const searchProgress = new Progress("directprobe search", Math.ceil(Math.log2(global.length + 1)), "states", sink);
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      const state = buildState(m, labels, global, mid, (id) => oracle.known(id));
      const bornAfterGood = n + labelSet.length + good; // ids >= this were created after the good state
      const clear = stateIsClear(oracle, newPool(), state.clusters, state.owner, (c) => c.id >= bornAfterGood);
      stats.statesSearched++;
      if (clear) good = mid;
      else bad = mid;
      searchProgress.update(stats.statesSearched, 1, { good, bad });
    }
    stats.firstOverlapState = bad;
    stats.seconds.search = (performance.now() - t) / 1000;

    // 4. Checked merging from the last state without overlap.
    t = performance.now();
    const start = buildState(m, labels, global, good, (id) => oracle.known(id));
    final = checkedMerging(m, oracle, newPool(true), start.clusters, firstIdAfter, stats, sink, opts);
    stats.seconds.forward = (performance.now() - t) / 1000;
  }

  Object.assign(stats, oracle.stats);
  stats.seconds.total = (performance.now() - t0) / 1000;
  const clusters: Cluster[] = final
    .map((c) => ({ label: c.label, members: Int32Array.from(c.members).sort() }))
    .sort((a, b) => a.label - b.label || a.members[0] - b.members[0]);
  const assignment = new Int32Array(n);
  clusters.forEach((c, i) => c.members.forEach((p) => (assignment[p] = i)));
  return { clusters, assignment, labels: labelSet, numClusters: clusters.length, linear: clusters.length === labelSet.length, stats };
}

/**
 * Directions of largest spread of the points (principal axes of an evenly spaced sample of at most 4,096 rows),
 * orthonormal, for the sphere pools' projection filter: the larger the share of the centres' spread they span, the
 * closer the projected distance comes to the true one and the more far pairs the filter rules out (16 axes: 40%
 * fewer full sphere tests than 4 on POS). Any orthonormal vectors would give the same answers (the filter is
 * exact), only more slowly.
 */
function spreadDirections(m: Matrix, k = 16): Float64Array[] {
  const sample = Math.min(m.n, 4096);
  if (sample < 3 || m.dim < 2) return [];
  const rows: Float64Array[] = [];
  for (let i = 0; i < sample; i++) {
    const r = Math.floor((i * m.n) / sample);
    rows.push(Float64Array.from(m.data.subarray(r * m.dim, (r + 1) * m.dim)));
  }
  // Gram-Schmidt, twice, in float64: the pool requires orthonormality within 1e-10, tighter than an eigensolver
  // promises.
  const out: Float64Array[] = [];
  for (const c of pca(rows, Math.min(k, m.dim, sample - 1)).components) {
    const u = Float64Array.from(c);
    for (let pass = 0; pass < 2; pass++) {
      for (const v of out) {
        let d = 0;
        for (let t = 0; t < u.length; t++) d += u[t] * v[t];
        for (let t = 0; t < u.length; t++) u[t] -= d * v[t];
      }
      const n = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
      if (!(n > 1e-6)) break;
      for (let t = 0; t < u.length; t++) u[t] /= n;
    }
    const n = Math.sqrt(u.reduce((s, x) => s + x * x, 0));
    if (Math.abs(n - 1) < 1e-12) out.push(u);
  }
  return out;
}

/** Interleaves per-label merge sequences as one global closest-pair-first process would. */
function interleave(perLabel: MergeRecord[][]): MergeRecord[] {
  const pos = perLabel.map(() => 0);
  const out: MergeRecord[] = [];
  for (;;) {
    let best = -1;
    for (let l = 0; l < perLabel.length; l++) {
      if (pos[l] >= perLabel[l].length) continue;
      if (best < 0 || perLabel[l][pos[l]].distance < perLabel[best][pos[best]].distance) best = l;
    }
    if (best < 0) return out;
    out.push(perLabel[best][pos[best]++]);
  }
}

/** The clusters after the first `steps` merges of the sequence (singletons have their point index as id). */
function buildState(
  m: Matrix,
  labels: ArrayLike<number>,
  seq: { a: number; b: number; id: number; label: number }[],
  steps: number,
  /** Clusters already built for an earlier state (by id), reused instead of rebuilt: most of a state's clusters. */
  known?: (id: number) => ClusterGeom | undefined,
): { clusters: ClusterGeom[]; owner: Int32Array } {
  const n = m.n;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const rep = new Map<number, number>(); // cluster id -> one of its points
  const nodeOfRoot = new Map<number, number>();
  const children = new Map<number, [number, number]>();
  const repOf = (id: number): number => (id < n ? id : rep.get(id)!);
  for (let s = 0; s < steps; s++) {
    const { a, b, id } = seq[s];
    const ra = find(repOf(a));
    const rb = find(repOf(b));
    parent[rb] = ra;
    nodeOfRoot.set(ra, id);
    rep.set(id, ra);
    children.set(id, [a, b]);
  }
  const owner = new Int32Array(n);
  const groups = new Map<number, number[]>();
  for (let p = 0; p < n; p++) {
    const r = find(p);
    const id = nodeOfRoot.get(r) ?? r;
    owner[p] = id;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(p);
  }
  const clusters = [...groups.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([id, pts]) => known?.(id) ?? geomOf(m, id, labels[pts[0]], Int32Array.from(pts), children.get(id)));
  return { clusters, owner };
}

/** True if no two clusters of different labels overlap, checking only pairs with at least one `fresh` cluster. */
function stateIsClear(oracle: OverlapOracle, pool: SpherePool, clusters: ClusterGeom[], owner: Int32Array, fresh: (c: ClusterGeom) => boolean): boolean {
  oracle.register(clusters);
  for (const c of clusters) pool.add(c);
  // Non-singletons first: two single points of different labels never overlap (identical ones were rejected).
  for (const c of clusters) {
    if (!fresh(c) || c.members.length < 2) continue;
    const pairNotDone = (x: ClusterGeom): boolean => x.id < c.id || !fresh(x) || x.members.length < 2;
    if (oracle.firstOverlap(c, pool, owner, [c.id], pairNotDone)) return false;
  }
  return true;
}

/** Merging with a check before every merge, from the given clusters (the reference's forward phase). */
function checkedMerging(
  m: Matrix,
  oracle: OverlapOracle,
  pool: SpherePool,
  start: ClusterGeom[],
  nextId: number,
  stats: DirectProbeStats,
  sink: ProgressSink,
  opts: DirectProbeOptions,
): AggCluster[] {
  const active = new Map<number, ClusterGeom>();
  // Every active cluster's bounding sphere in flat arrays (`pool`, empty): the others of a merge are the pool's other labels.
  const add = (c: ClusterGeom): void => {
    active.set(c.id, c);
    pool.add(c);
  };
  const remove = (id: number): void => {
    active.delete(id);
    pool.remove(id);
  };
  const owner = new Int32Array(m.n);
  oracle.register(start);
  for (const c of start) {
    add(c);
    c.members.forEach((p) => (owner[p] = c.id));
  }
  const progress = new Progress("directprobe checked merging", undefined, "merges", sink);
  // Veto hints by pair of live clusters: a vetoed merge's overlap witness, handed on to the pairs its parts grow into
  // (each such pair, when proposed, is tested against that witness first: a cheap exact shortcut of the witness
  // lookup, never a different answer; see OverlapOracle.hintedMergeOverlap).
  const hints = new Map<number, VetoHint>();
  const hintPartners = new Map<number, Set<number>>();
  const pairKey = (x: number, y: number): number => (x < y ? x * 2 ** 26 + y : y * 2 ** 26 + x);
  const setHint = (x: number, y: number, h: VetoHint): void => {
    hints.set(pairKey(x, y), h);
    for (const [p, q] of [
      [x, y],
      [y, x],
    ]) {
      let set = hintPartners.get(p);
      if (!set) hintPartners.set(p, (set = new Set()));
      set.add(q);
    }
  };
  /** The merged cluster g inherits a's and b's hints (a's first where both have one for the same partner). */
  const inheritHints = (a: number, b: number, g: number): void => {
    for (const part of [a, b]) {
      const partners = hintPartners.get(part);
      if (!partners) continue;
      for (const x of partners) {
        const k = pairKey(part, x);
        const h = hints.get(k)!;
        hints.delete(k);
        hintPartners.get(x)?.delete(part);
        if (x === a || x === b) continue;
        if (!hints.has(pairKey(g, x))) setHint(g, x, h);
      }
      hintPartners.delete(part);
    }
  };
  let pending: ClusterGeom | undefined;
  const { clusters } = agglomerate(
    m,
    start.map((c) => ({ id: c.id, label: c.label, members: c.members })),
    {
      nextId,
      inheritVetoes: opts.inheritVetoes ?? false,
      // The scans after each merge (label lists of 20,000 clusters at the start on full POS) on the kernel's threads.
      scanThreads: 8,
      allow: (a, b, merged) => {
        const ga = active.get(a.id)!;
        const gb = active.get(b.id)!;
        const hint = opts.vetoHints === false ? undefined : hints.get(pairKey(a.id, b.id));
        if (hint && oracle.hintedMergeOverlap(ga, gb, merged.members.length, hint, owner, pool)) {
          stats.vetoedMerges++;
          stats.hintedVetoes++;
          return false;
        }
        if (oracle.witnessedMergeOverlap(ga, gb, merged.members, owner, pool)) {
          const h = oracle.takeVetoHint();
          if (h) setHint(a.id, b.id, h);
          stats.vetoedMerges++;
          return false;
        }
        // merged.members is a's members then b's (a has the lower id): a's row sum is the start of g's. The radius
        // waits until a witness has not already vetoed the merge.
        const g = geomOf(m, merged.id, merged.label, merged.members, [a.id, b.id], { prefix: active.get(a.id), deferRadius: true });
        // Its spread from the parts' in O(dim) (the hull solver's scale), before its check may need it: a pass otherwise.
        ensureSpread(m, g, [ga, gb]);
        const hit = oracle.firstOverlap(g, pool, owner, [a.id, b.id]);
        if (hit) {
          const h = oracle.takeVetoHint();
          if (h) setHint(a.id, b.id, h);
          // The candidate's id is reused by the next candidate: drop what was learnt under it.
          oracle.forget([merged.id]);
          stats.vetoedMerges++;
          return false;
        }
        pending = g;
        return true;
      },
      onMerge: (rec, count) => {
        const g = pending!;
        remove(rec.a);
        remove(rec.b);
        add(g);
        inheritHints(rec.a, rec.b, g.id);
        g.members.forEach((p) => (owner[p] = g.id));
        oracle.forget([rec.a, rec.b]);
        stats.checkedMerges++;
        if (stats.checkedMerges % 100 === 0) progress.update(stats.checkedMerges, 100, { clusters: count, vetoed: stats.vetoedMerges });
      },
    },
  );
  progress.finish(stats.checkedMerges, { clusters: clusters.length, vetoed: stats.vetoedMerges });
  return clusters;
}
