/**
 * "Does this cluster overlap any cluster of another label?" with the exact shortcuts, cheapest first:
 *  1. bounding spheres (centroid, max radius) that do not intersect: separable; then, in checked merging's pool,
 *     projection intervals on the label-pair directions apart by more than the tolerance (intervals.ts): separable;
 *  2. a stored separating hyperplane for this exact pair, or one for a sub-cluster that still separates once
 *     the rest of the points are projected (separable pairs stay separable for subsets);
 *  3. a stored overlap witness (small point sets with intersecting hulls) contained in the two clusters
 *     (overlapping pairs stay overlapping for supersets);
 *  4. the nearest-point solver (hull.ts), warm-started from the sub-clusters' solutions.
 * Clusters are identified by ids; an id always denotes the same point set.
 */
import { hullDistance, HullOptions } from "./hull";
import { extremeProjection, Matrix } from "./matrix";
import { ProjectionIntervals } from "./intervals";
import { loadNativeDist, NativeDist } from "./native-dist";

export interface ClusterGeom {
  id: number;
  label: number;
  members: Int32Array;
  /** Sum of the members' rows, added in member order (the centroid before the division). */
  sum: Float64Array;
  centre: Float64Array;
  /** Largest distance of a member from the centre; NaN until ensureRadius() when geomOf was asked to defer it. */
  radius: number;
  /** Ids of the two clusters this one was merged from, if any. */
  children?: [number, number];
  /** Projection intervals (intervals.ts), once computed. */
  intervals?: Float64Array;
  /** Sum of the members' squared distances from the centre, once known (ensureSpread): the hull solver's scale. */
  spread?: number;
  /** The centre's projections on a pool's directions and its norm (SpherePool.add), kept for the next pool. */
  pooled?: { directions: Float64Array[]; proj: Float64Array; norm: number; resid: number };
}

/**
 * A separating direction and what the solver found about it, shared by every pair it separates (extensions reuse
 * it with new bounds). The positive side is where w points: supPos lies in the cluster there.
 */
interface Plane {
  w: Float64Array;
  supPos: number[];
  supNeg: number[];
  /** Convex weights of supPos and supNeg (nearest points found by the solver), when known: a warm start. */
  weightPos?: number[];
  weightNeg?: number[];
  /** |w|, once computed (normOf): extensions of one hyperplane to many clusters need it each time. */
  wNorm: number | undefined;
  /** Its index in the CertStore that holds it, while some stored pair uses it. */
  slot: number | undefined;
}

/**
 * A Plane with every field present from the start, in one order: planes built with and without weights, and given
 * a norm or a slot later, then share one hidden class, and the property reads of the hot loops stay monomorphic
 * (megamorphic loads were 4% of a pos profile).
 */
function makePlane(w: Float64Array, supPos: number[], supNeg: number[], weightPos?: number[], weightNeg?: number[]): Plane {
  return { w, supPos, supNeg, weightPos, weightNeg, wNorm: undefined, slot: undefined };
}

/** A plane separating one pair: the id on the positive side (w.x >= posMin) and the bounds of both sides. */
interface Cert {
  plane: Plane;
  pos: number;
  posMin: number;
  negMax: number;
}

/** |plane.w| (the sum in coordinate order, as it always was computed), cached on the plane. */
function normOf(plane: Plane): number {
  if (plane.wNorm === undefined) {
    let wn = 0;
    for (let k = 0; k < plane.w.length; k++) wn += plane.w[k] * plane.w[k];
    plane.wNorm = Math.sqrt(wn);
  }
  return plane.wNorm;
}

interface Witness {
  a: number[];
  b: number[];
}

/**
 * Why a merge was vetoed, for its descendants: witness points inside the vetoed merge (`points`) whose hull overlaps
 * that of witness points inside the cluster that then held `otherPoint`. A later merge whose parts contain the
 * vetoed pair's parts contains `points`, and the cluster now holding `otherPoint` contains the other side: the same
 * witness target that witnessedMergeOverlap would find (see hintedMergeOverlap).
 */
export interface VetoHint {
  points: number[];
  otherPoint: number;
}

export interface OverlapStats {
  checks: number;
  sphereSkips: number;
  certHits: number;
  certExtensions: number;
  /** Of certExtensions, those decided by a batch of native projections (firstExtensions). */
  batchedExtensions: number;
  witnessHits: number;
  /** Pairs separated by the hyperplane normal to their centroids' difference (no solve needed). */
  centroidDirection: number;
  /** Sphere tests decided by the pool's projection filter (counted in sphereSkips too). */
  projectionSkips: number;
  hullSolves: number;
  hullSeparated: number;
  hullOverlap: number;
  hullUndecided: number;
  hullIterations: number;
  hullSeconds: number;
  lpSolves: number;
  /** Seconds inside the LP solver (part of hullSeconds). */
  lpSeconds: number;
  /** Hull solves that the exact corral method decided without falling back to MDM iterations and the LP. */
  corralDecided: number;
  /** Pairs whose bounding spheres meet but whose projection intervals are apart (intervals.ts): separated. */
  intervalSkips: number;
}

export interface GeomOptions {
  /**
   * A cluster whose members are the first members of this one, in the same order (the lower-id part of a merge):
   * its row sum is the start of this one's, so only the remaining rows are added (same additions, same result).
   */
  prefix?: ClusterGeom;
  /** Leave the radius NaN (a second pass over the members) until ensureRadius(): vetoed merges often never need it. */
  deferRadius?: boolean;
}

export function geomOf(m: Matrix, id: number, label: number, members: Int32Array, children?: [number, number], opts: GeomOptions = {}): ClusterGeom {
  const dim = m.dim;
  const prefix = opts.prefix;
  let from = 0;
  let sum: Float64Array;
  if (prefix) {
    const n = prefix.members.length;
    if (n > members.length || prefix.members[0] !== members[0] || prefix.members[n - 1] !== members[n - 1]) {
      throw new RangeError(`geomOf: cluster ${prefix.id} is not a prefix of the members of cluster ${id}`);
    }
    sum = Float64Array.from(prefix.sum);
    from = n;
  } else sum = new Float64Array(dim);
  const native = members.length - from >= 8 ? loadNativeDist() : null;
  if (native?.addrows) native.addrows(m.data, dim, members.subarray(from), sum);
  else {
    for (let i = from; i < members.length; i++) {
      const off = members[i] * dim;
      for (let k = 0; k < dim; k++) sum[k] += m.data[off + k];
    }
  }
  const centre = new Float64Array(dim);
  for (let k = 0; k < dim; k++) centre[k] = sum[k] / members.length;
  // Every optional field present from the start (one hidden class for all clusters: see makePlane).
  const g: ClusterGeom = { id, label, members, sum, centre, radius: NaN, children, intervals: undefined, spread: undefined, pooled: undefined };
  if (!opts.deferRadius) ensureRadius(m, g);
  return g;
}

/** Squared distance of row p from the centre, summed as the radius is (so that a subset's maximum never exceeds it). */
function sqDistFromCentre(m: Matrix, p: number, centre: Float64Array): number {
  const dim = m.dim;
  const off = p * dim;
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const t = m.data[off + k] - centre[k];
    s += t * t;
  }
  return s;
}

/** Computes a deferred radius (see GeomOptions.deferRadius). */
export function ensureRadius(m: Matrix, g: ClusterGeom): void {
  if (!Number.isNaN(g.radius)) return;
  let r2 = 0;
  const native = g.members.length >= 8 ? loadNativeDist() : null;
  if (native?.maxsqdist) r2 = native.maxsqdist(m.data, m.dim, g.members, g.centre, 0);
  else {
    for (let i = 0; i < g.members.length; i++) {
      const s = sqDistFromCentre(m, g.members[i], g.centre);
      if (s > r2) r2 = s;
    }
  }
  g.radius = Math.sqrt(r2);
}

/**
 * g's spread (ClusterGeom.spread): from its two parts when given (parallel-axis theorem: the parts' spreads plus
 * na nb / (na + nb) |ca - cb|^2, in O(dim)), else one pass over the members. Equal up to rounding either way.
 */
export function ensureSpread(m: Matrix, g: ClusterGeom, parts?: [ClusterGeom, ClusterGeom]): number {
  if (g.spread !== undefined) return g.spread;
  if (parts) {
    const [a, b] = parts;
    const sa = ensureSpread(m, a);
    const sb = ensureSpread(m, b);
    let d2 = 0;
    for (let k = 0; k < m.dim; k++) d2 += (a.centre[k] - b.centre[k]) ** 2;
    const na = a.members.length;
    const nb = b.members.length;
    return (g.spread = sa + sb + ((na * nb) / (na + nb)) * d2);
  }
  const native = loadNativeDist();
  if (native?.sqdevsum) return (g.spread = native.sqdevsum(m.data, m.dim, g.members, g.centre, 0));
  let s = 0;
  for (let i = 0; i < g.members.length; i++) s += sqDistFromCentre(m, g.members[i], g.centre);
  return (g.spread = s);
}

/**
 * Clusters with their bounding spheres in flat arrays (centres one after the other), so that scanning every
 * cluster of another label reads contiguous memory instead of one small array per cluster: that scan was 30% of
 * DirectProbe's time on 30,000 POS points (363 million sphere tests, most of them cache misses).
 *
 * Optional projection filter: with orthonormal `directions` u_1..u_k, every centre's projections u_j.x are kept
 * too, and sum_j (u_j.c - u_j.x)^2 <= |c - x|^2 (Bessel) rules out most far spheres from k values per cluster (k x 8
 * bytes read instead of a partial distance over the centre's 1 KB; see projectionsApart). The sphere test's answers
 * are unchanged: only pairs that the distance would also find apart are skipped.
 */
export class SpherePool {
  /** Slots in use, the dead ones (removed clusters, label -1) included: scans run over slots [0, size). */
  size = 0;
  centres = new Float64Array(0);
  radii = new Float64Array(0);
  /** Each slot's label; -1 for a dead slot (scans skip it, as they skip the query's own label, without counting it). */
  labels = new Int32Array(0);
  /**
   * Projections of each centre on the directions, direction-major: direction j's value for slot s at
   * proj[j * projStride + s] (projStride = the capacity), so that a filter reading one direction for every slot
   * reads consecutive values; and each centre's norm (for the rounding margin).
   */
  proj = new Float64Array(0);
  projStride = 0;
  norms = new Float64Array(0);
  /** Each centre's residual norm outside the directions' span (residualNorm), for the projection filter's last term. */
  resids = new Float64Array(0);
  geoms: (ClusterGeom | undefined)[] = [];
  /** Each slot's projection intervals (2 D values), when the pool has `intervals`. */
  iv = new Float64Array(0);
  /**
   * Blocks of BLOCK consecutive slots, each with bounds over the slots placed in it since the last rebuild: the range
   * of their projections on the first direction (bLo, bHi), their largest radius and centre norm, the live slots,
   * and the live slots per label (bLabel[b * labelCap + l]). A rebuild places the live clusters in the order of their
   * first projection, so that a block covers a narrow range of it: a query whose first projection is farther from
   * that range than the projection filter's own test requires for every slot there skips the whole block (see
   * ftgeo_dist.c, blockscan), and the counts are the per-slot filter's.
   */
  bLo = new Float64Array(0);
  bHi = new Float64Array(0);
  bRad = new Float64Array(0);
  bNorm = new Float64Array(0);
  bLive = new Int32Array(0);
  bLabel = new Int32Array(0);
  labelCap = 0;
  static readonly BLOCK = 64;
  private slotOf = new Map<number, number>();
  /** Dead slots, reused last-freed first (a merge's cluster takes the slot of a part just removed: nearby centres). */
  private free: number[] = [];
  /** Clusters appended at the end (not into a freed slot) and scans since the last rebuild: when to sort again. */
  private appended = 0;
  private scansSinceRebuild = 0;
  readonly directions: Float64Array[];

  constructor(
    readonly dim: number,
    directions: Float64Array[] = [],
    readonly intervals?: ProjectionIntervals,
  ) {
    if (directions.length > 64) throw new RangeError(`SpherePool: at most 64 directions (got ${directions.length})`);
    for (const [j, u] of directions.entries()) {
      if (u.length !== dim) throw new RangeError(`SpherePool: direction ${j} must have ${dim} values (has ${u.length})`);
      for (let i = 0; i <= j; i++) {
        let g = 0;
        for (let k = 0; k < dim; k++) g += u[k] * directions[i][k];
        if (!(Math.abs(g - (i === j ? 1 : 0)) <= 1e-10)) {
          throw new RangeError(`SpherePool: directions must be orthonormal within 1e-10, but direction ${i} . direction ${j} = ${g}`);
        }
      }
    }
    this.directions = directions;
  }

  /** The clusters in the pool. */
  get live(): number {
    return this.slotOf.size;
  }

  /** The projections of a centre on the directions (into out) and its norm. */
  project(centre: Float64Array, out: Float64Array): number {
    const dim = this.dim;
    this.directions.forEach((u, j) => {
      let s = 0;
      for (let k = 0; k < dim; k++) s += u[k] * centre[k];
      out[j] = s;
    });
    let n2 = 0;
    for (let k = 0; k < dim; k++) n2 += centre[k] * centre[k];
    return Math.sqrt(n2);
  }

  /**
   * |x - sum_j p_j u_j| for the projections p of x on the directions: the norm of x's part outside their span (up to
   * rounding, at most 1e-10 |x|: see projectionsApart), 0 without directions.
   */
  residualNorm(x: Float64Array, p: Float64Array): number {
    const nd = this.directions.length;
    if (nd === 0) return 0;
    const dim = this.dim;
    let r2 = 0;
    for (let k = 0; k < dim; k++) {
      let v = x[k];
      for (let j = 0; j < nd; j++) v -= p[j] * this.directions[j][k];
      r2 += v * v;
    }
    return Math.sqrt(r2);
  }

  /**
   * g's centre projected on the directions, and its norm, computed once per cluster: a search state's pool holds most
   * clusters of the states before it (DirectProbe builds one pool per state), and a merged cluster is scanned with
   * them before it is added.
   */
  projectionsOf(g: ClusterGeom): { proj: Float64Array; norm: number; resid: number } {
    let pooled = g.pooled;
    if (!pooled || pooled.directions !== this.directions) {
      const proj = new Float64Array(this.directions.length);
      const norm = this.project(g.centre, proj);
      pooled = g.pooled = { directions: this.directions, proj, norm, resid: this.residualNorm(g.centre, proj) };
    }
    return pooled;
  }

  has(x: ClusterGeom): boolean {
    const s = this.slotOf.get(x.id);
    return s !== undefined && this.geoms[s] === x;
  }

  add(g: ClusterGeom): void {
    if (Number.isNaN(g.radius)) throw new RangeError(`SpherePool: cluster ${g.id} has no radius yet (ensureRadius first)`);
    if (this.slotOf.has(g.id)) throw new RangeError(`SpherePool: cluster ${g.id} is already in the pool`);
    let s = this.free.pop();
    if (s === undefined) {
      if (this.size === this.radii.length) this.grow(Math.max(64, this.size * 2));
      s = this.size++;
      this.appended++;
    }
    this.place(g, s);
  }

  remove(id: number): void {
    const s = this.slotOf.get(id);
    if (s === undefined) throw new RangeError(`SpherePool: cluster ${id} is not in the pool`);
    const b = (s / SpherePool.BLOCK) | 0;
    this.bLive[b]--;
    this.bLabel[b * this.labelCap + this.labels[s]]--;
    this.labels[s] = -1;
    this.geoms[s] = undefined;
    this.slotOf.delete(id);
    this.free.push(s);
  }

  /**
   * Before a scan: rebuilds the pool in first-projection order when many clusters were appended unsorted or a fifth of
   * the slots are dead (dead slots are still stepped over, and the blocks' bounds only widen as merged clusters take
   * freed slots), and enough scans were made since the last rebuild to pay for it (a search state's pool is filled
   * once and scanned for its few new clusters: sorting it would cost more than it saves).
   */
  beforeScan(): void {
    this.scansSinceRebuild++;
    const live = this.live;
    const unsorted = this.appended >= 256 && this.appended * 16 >= live;
    const sparse = this.free.length >= 256 && 4 * this.free.length >= live;
    if ((unsorted || sparse) && this.scansSinceRebuild >= 64) this.rebuild();
  }

  /**
   * Places the live clusters in slots [0, live) in the order of their first projection (ties: the old slot order),
   * drops the dead slots and recomputes the blocks' bounds. Scans find the same spheres before and after.
   */
  rebuild(): void {
    const n = this.live;
    const order = new Int32Array(n);
    const keys = new Float64Array(n);
    const olds = new Int32Array(n);
    let i = 0;
    for (let s = 0; s < this.size; s++) {
      if (this.labels[s] < 0) continue;
      order[i] = i;
      olds[i] = s;
      keys[i] = this.directions.length > 0 ? this.proj[s] : 0;
      i++;
    }
    sortByGapThenId(order, n, keys, olds);
    const geoms = this.geoms;
    const cap = this.radii.length;
    const dim = this.dim;
    const nd = this.directions.length;
    const { centres, proj, norms, resids, radii, iv } = this;
    const stride = this.projStride;
    this.centres = new Float64Array(cap * dim);
    this.proj = new Float64Array(cap * nd);
    this.norms = new Float64Array(cap);
    this.resids = new Float64Array(cap);
    this.radii = new Float64Array(cap);
    this.labels = new Int32Array(cap);
    this.geoms = new Array<ClusterGeom | undefined>(n);
    const w = this.intervals ? 2 * this.intervals.size : 0;
    if (this.intervals) this.iv = new Float64Array(cap * w);
    this.slotOf.clear();
    for (let t = 0; t < n; t++) {
      const s = olds[order[t]];
      const g = geoms[s]!;
      this.centres.set(centres.subarray(s * dim, (s + 1) * dim), t * dim);
      for (let j = 0; j < nd; j++) this.proj[j * stride + t] = proj[j * stride + s];
      this.norms[t] = norms[s];
      this.resids[t] = resids[s];
      this.radii[t] = radii[s];
      this.labels[t] = g.label;
      this.geoms[t] = g;
      this.slotOf.set(g.id, t);
      if (w > 0) this.iv.set(iv.subarray(s * w, (s + 1) * w), t * w);
    }
    this.size = n;
    this.free = [];
    this.appended = 0;
    this.scansSinceRebuild = 0;
    this.bLive.fill(0);
    this.bLabel.fill(0);
    this.bLo.fill(Infinity);
    this.bHi.fill(-Infinity);
    this.bRad.fill(0);
    this.bNorm.fill(0);
    for (let t = 0; t < n; t++) this.widenBlock(t);
  }

  /** Writes g into slot s (free, below size) and widens its block's bounds. */
  private place(g: ClusterGeom, s: number): void {
    const dim = this.dim;
    const nd = this.directions.length;
    this.centres.set(g.centre, s * dim);
    const pooled = this.projectionsOf(g);
    this.norms[s] = pooled.norm;
    this.resids[s] = pooled.resid;
    const pc = pooled.proj;
    for (let j = 0; j < nd; j++) this.proj[j * this.projStride + s] = pc[j];
    this.radii[s] = g.radius;
    this.labels[s] = g.label;
    this.geoms[s] = g;
    this.slotOf.set(g.id, s);
    if (this.intervals) this.iv.set(this.intervals.of(g), s * 2 * this.intervals.size);
    this.widenBlock(s);
  }

  /** Takes live slot s into its block's bounds and counts. */
  private widenBlock(s: number): void {
    const b = (s / SpherePool.BLOCK) | 0;
    const label = this.labels[s];
    if (label < 0) throw new RangeError(`SpherePool: labels must be non-negative integers (got ${label})`);
    if (label >= this.labelCap) {
      // Per-label counts for labels up to this one (labels are small integers: DirectProbe's label indices).
      const cap = Math.max(label + 1, 2 * this.labelCap, 8);
      const nb = this.bLive.length;
      const counts = new Int32Array(nb * cap);
      for (let q = 0; q < nb; q++) counts.set(this.bLabel.subarray(q * this.labelCap, (q + 1) * this.labelCap), q * cap);
      this.bLabel = counts;
      this.labelCap = cap;
    }
    this.bLive[b]++;
    this.bLabel[b * this.labelCap + label]++;
    if (this.directions.length > 0) {
      const p0 = this.proj[s];
      if (p0 < this.bLo[b]) this.bLo[b] = p0;
      if (p0 > this.bHi[b]) this.bHi[b] = p0;
    }
    if (this.radii[s] > this.bRad[b]) this.bRad[b] = this.radii[s];
    if (this.norms[s] > this.bNorm[b]) this.bNorm[b] = this.norms[s];
  }

  /** Capacity for cap slots (the slots in use keep their places). */
  private grow(cap: number): void {
    const dim = this.dim;
    const nd = this.directions.length;
    const centres = new Float64Array(cap * dim);
    centres.set(this.centres);
    this.centres = centres;
    const proj = new Float64Array(cap * nd);
    for (let j = 0; j < nd; j++) proj.set(this.proj.subarray(j * this.projStride, j * this.projStride + this.size), j * cap);
    this.proj = proj;
    this.projStride = cap;
    const grown = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.size));
      return b;
    };
    this.radii = grown(this.radii, (n) => new Float64Array(n));
    this.norms = grown(this.norms, (n) => new Float64Array(n));
    this.resids = grown(this.resids, (n) => new Float64Array(n));
    this.labels = grown(this.labels, (n) => new Int32Array(n));
    if (this.intervals) {
      const iv = new Float64Array(cap * 2 * this.intervals.size);
      iv.set(this.iv);
      this.iv = iv;
    }
    const nb = Math.ceil(cap / SpherePool.BLOCK);
    const old = this.bLive.length;
    const widen = (a: Float64Array, fill: number): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(nb).fill(fill);
      b.set(a);
      return b;
    };
    this.bLo = widen(this.bLo, Infinity);
    this.bHi = widen(this.bHi, -Infinity);
    this.bRad = widen(this.bRad, 0);
    this.bNorm = widen(this.bNorm, 0);
    const live = new Int32Array(nb);
    live.set(this.bLive);
    this.bLive = live;
    const counts = new Int32Array(nb * this.labelCap);
    counts.set(this.bLabel.subarray(0, old * this.labelCap));
    this.bLabel = counts;
  }
}

export class OverlapOracle {
  readonly stats: OverlapStats = {
    checks: 0,
    sphereSkips: 0,
    certHits: 0,
    certExtensions: 0,
    batchedExtensions: 0,
    witnessHits: 0,
    centroidDirection: 0,
    projectionSkips: 0,
    hullSolves: 0,
    hullSeparated: 0,
    hullOverlap: 0,
    hullUndecided: 0,
    hullIterations: 0,
    hullSeconds: 0,
    lpSolves: 0,
    lpSeconds: 0,
    corralDecided: 0,
    intervalSkips: 0,
  };
  private certs = new CertStore();
  private witnessesByPoint = new Map<number, Witness[]>();
  /** 1 for the points witnessesByPoint has a list for: most members have none, and a byte is cheaper than a Map miss. */
  private readonly witnessed: Uint8Array;
  /** Every cluster seen (as a query or a candidate), to derive hyperplanes for its supersets. */
  private geoms = new IdTable<ClusterGeom>();
  private readonly overlapTol: number;
  /** The hint of the last overlap found by firstOverlap or witnessedMergeOverlap (takeVetoHint). */
  private lastHint: VetoHint | undefined;
  /** The native sphere scan's output buffers (slots left after the partial distance, their squared distances). */
  private scanSlots = new Int32Array(0);
  private scanCd2 = new Float64Array(0);
  private intervals: ProjectionIntervals | undefined;
  /** firstOverlap's candidates (one list, reused: firstOverlap never runs inside itself). */
  private readonly candidates = new Candidates();
  /** A vector of dim zeros (firstExtensions' stand-in where no hyperplane is tried). */
  private readonly zeros: Float64Array;
  private readonly zerosPlane: Plane;
  /** childHyperplane's answer (one record, reused: read before the next call). */
  private readonly found: Cert;
  /** firstExtensions' arrays, grown as needed and reused. */
  private readonly firstScratch = {
    planes: [] as (Plane | undefined)[],
    ws: [] as Float64Array[],
    poss: new Int32Array(0),
    posMins: new Float64Array(0),
    negMaxs: new Float64Array(0),
    values: new Float64Array(0),
    wantMin: new Int32Array(0),
    starts: new Float64Array(0),
    stops: new Float64Array(0),
  };
  /** scanPool's counts from the native kernel (reused). */
  private readonly scanCounts = new Float64Array(3);
  /** mergedSphere's centre (reused: read before the next call). */
  private mergedCentre = new Float64Array(0);

  constructor(
    private readonly m: Matrix,
    private readonly hullOpts: HullOptions = {},
    /** batchExtensions: false keeps firstOverlap from extending hyperplanes in batches (same answers; for tests). */
    private readonly opts: { batchExtensions?: boolean } = {},
  ) {
    this.overlapTol = hullOpts.overlapTol ?? 1e-5;
    this.witnessed = new Uint8Array(m.n);
    this.zeros = new Float64Array(m.dim);
    this.zerosPlane = makePlane(this.zeros, [], []);
    this.found = { plane: this.zerosPlane, pos: 0, posMin: 0, negMax: 0 };
  }

  get dim(): number {
    return this.m.dim;
  }

  /**
   * Make clusters known (once per state, rather than once per pair in firstOverlap): hyperplanes for a merged
   * cluster are derived from its children's geometry, looked up here.
   */
  register(clusters: Iterable<ClusterGeom>): void {
    for (const c of clusters) if (this.geoms.get(c.id) === undefined) this.geoms.set(c.id, c);
  }

  /** Decide pairs whose spheres meet by their projection intervals first (none by default). */
  useIntervals(iv: ProjectionIntervals | undefined): void {
    this.intervals = iv;
  }

  /** c's projection intervals (from its registered children when it has them). */
  private intervalsOf(c: ClusterGeom): Float64Array {
    const iv = this.intervals!;
    const ch = c.children;
    const a = ch && this.geoms.get(ch[0]);
    const b = ch && this.geoms.get(ch[1]);
    return iv.of(c, a && b ? [a, b] : undefined);
  }

  /** The cluster with this id, if registered (an id always denotes the same point set). */
  known(id: number): ClusterGeom | undefined {
    return this.geoms.get(id);
  }

  /** Forget the hyperplanes involving these clusters (they were merged away and will not come back). */
  forget(ids: number[]): void {
    for (const id of ids) {
      this.certs.deleteAll(id);
      this.geoms.delete(id);
    }
  }

  /**
   * The first cluster in `others` (all of another label) whose hull overlaps `c`'s, or undefined.
   * `owner[p]` is the id of the cluster holding point p among `c`'s parts and `others` (for witnesses);
   * `partsOfC` are the ids whose points make up c there (c itself, or its two children before the merge).
   *
   * `isOther`, when given, tells whether a cluster is in `others`: then the stored overlap witnesses are consulted
   * before `others` is scanned at all, and a witnessed overlap (which also passes the bounding-sphere test, as the
   * scan would require) is returned at once. Most of DirectProbe's vetoed merges end there, and `others` (every
   * cluster of another label) is only iterated when no witness decides. The answer may then be a different
   * overlapping cluster than without `isOther`, never a different yes/no.
   *
   * `others` may be a SpherePool: then the others are its clusters of labels other than c's (that also pass isOther,
   * if given).
   */
  firstOverlap(
    c: ClusterGeom,
    others: Iterable<ClusterGeom> | SpherePool,
    owner: Int32Array,
    partsOfC: number[],
    isOther?: (x: ClusterGeom) => boolean,
  ): ClusterGeom | undefined {
    const dim = this.m.dim;
    this.lastHint = undefined;
    this.geoms.set(c.id, c);
    const narrow = isOther;
    if (others instanceof SpherePool) {
      const pool = others;
      isOther = (x) => x.label !== c.label && pool.has(x) && (!narrow || narrow(x));
    }
    const witnessTargets = this.witnessTargets(c.members, owner, partsOfC);
    if (isOther && witnessTargets.size > 0) {
      for (const id of [...witnessTargets.keys()].sort((p, q) => p - q)) {
        const x = this.geoms.get(id);
        if (!x || !isOther(x)) continue;
        this.stats.checks++;
        // With the radius deferred, first try a lower bound (the witness points' distances, summed as the radius
        // is): spheres that meet with it meet with the true radius (every step of sphereGap is monotone in it).
        if (Number.isNaN(c.radius)) {
          let r2 = 0;
          for (const p of witnessTargets.get(id)!) r2 = Math.max(r2, sqDistFromCentre(this.m, p, c.centre));
          if (sphereGap(c, x, dim, Math.sqrt(r2)) !== undefined) {
            this.stats.witnessHits++;
            this.lastHint = { points: witnessTargets.get(id)!, otherPoint: x.members[0] };
            return x;
          }
          ensureRadius(this.m, c);
        }
        if (sphereGap(c, x, dim) === undefined) {
          this.stats.sphereSkips++;
          continue;
        }
        this.stats.witnessHits++;
        this.lastHint = { points: witnessTargets.get(id)!, otherPoint: x.members[0] };
        return x;
      }
    }
    ensureRadius(this.m, c);
    // Bounding spheres first; the pairs that remain are visited most-overlapping first, so that an overlap (which
    // ends the check) is found early.
    const candidates = this.candidates;
    candidates.clear();
    if (others instanceof SpherePool) this.scanPool(c, others, candidates, narrow, witnessTargets);
    else for (const x of others) {
      this.stats.checks++;
      const sg = sphereGap(c, x, dim);
      if (sg === undefined) {
        this.stats.sphereSkips++;
        continue;
      }
      if (this.geoms.get(x.id) === undefined) this.geoms.set(x.id, x);
      candidates.push(x, sg.gap, sg.cd);
    }
    candidates.sort();
    const n = candidates.size;
    for (let i = 0; i < n && witnessTargets.size > 0; i++) {
      const x = candidates.x(i);
      if (witnessTargets.has(x.id)) {
        this.stats.witnessHits++;
        this.lastHint = { points: witnessTargets.get(x.id)!, otherPoint: x.members[0] };
        return x;
      }
    }
    const first = this.firstExtensions(c, candidates);
    for (let i = 0; i < n; i++) {
      const x = candidates.x(i);
      if (this.certs.find(c.id, x.id) >= 0) {
        this.stats.certHits++;
        continue;
      }
      const scale = candidates.cd(i) + c.radius + x.radius;
      const tried = first !== undefined && first.tried(i);
      if (tried && this.extendWith(c, x, first.child, first.cert, first.value, scale)) {
        this.stats.certExtensions++;
        this.stats.batchedExtensions++;
        continue;
      }
      if (this.extendFromChildren(c, x, scale, tried ? first.child : undefined) || this.extendFromChildren(x, c, scale)) {
        this.stats.certExtensions++;
        continue;
      }
      if (!this.solve(c, x)) return x;
    }
    return undefined;
  }

  /**
   * The first attempt of extendFromChildren(c, x) for every candidate x of one check, computed a chunk of candidates at
   * a time by one native call (extremebatch), or undefined without the kernel or without children. The attempt uses
   * the same child's hyperplane with x for every x and projects the same rows (the other child's): late in checked
   * merging, thousands of candidates per merge each projected a few rows in a call of their own. The values are those
   * of one extremeProjection per candidate, and nothing the check's loop does in between changes a child's hyperplane
   * with x, so the loop's decisions are unchanged; chunks (16 candidates, then twice as many each time) keep the work
   * beyond a found overlap small.
   */
  private firstExtensions(c: ClusterGeom, candidates: Candidates): FirstExtensions | undefined {
    const native = loadNativeDist();
    if (!c.children || candidates.size === 0 || this.opts.batchExtensions === false || !native?.extremebatch) return undefined;
    const t = this.firstChild(c);
    const child = c.children[t];
    const other = this.geoms.get(c.children[1 - t]);
    if (!other) return undefined;
    const dim = this.m.dim;
    const n = candidates.size;
    // Scratch arrays kept from check to check (firstOverlap never runs inside itself): a check allocated nine.
    const sc = this.firstScratch;
    if (sc.poss.length < n) {
      sc.poss = grownInt32(sc.poss, n);
      sc.posMins = grownFloat64(sc.posMins, n);
      sc.negMaxs = grownFloat64(sc.negMaxs, n);
      sc.values = grownFloat64(sc.values, n);
      sc.wantMin = grownInt32(sc.wantMin, n);
      sc.starts = grownFloat64(sc.starts, n);
      sc.stops = grownFloat64(sc.stops, n);
    }
    const { planes, poss, posMins, negMaxs, values, wantMin, starts, stops, ws } = sc;
    const found = this.found;
    let done = 0;
    let chunk = 16;
    const fill = (upTo: number): void => {
      const to = Math.min(n, Math.max(upTo, done + chunk));
      chunk = Math.min(2 * chunk, 4096);
      const k = to - done;
      for (let r = 0; r < k; r++) {
        const i = done + r;
        if (!this.childHyperplane(child, candidates.x(i))) {
          // Nothing to extend: a min from -infinity stops at the first row.
          planes[i] = undefined;
          ws[r] = this.zeros;
          wantMin[r] = 1;
          starts[r] = -Infinity;
          stops[r] = Infinity;
          continue;
        }
        planes[i] = found.plane;
        poss[i] = found.pos;
        posMins[i] = found.posMin;
        negMaxs[i] = found.negMax;
        ws[r] = found.plane.w;
        const childPos = found.pos === child;
        wantMin[r] = childPos ? 1 : 0;
        starts[r] = childPos ? found.posMin : found.negMax;
        stops[r] = childPos ? found.negMax : found.posMin;
      }
      const out = values.subarray(done, to);
      native.extremebatch!(this.m.data, dim, other.members, ws, k, wantMin, starts, stops, out);
      done = to;
    };
    const cert: Cert = { plane: this.zerosPlane, pos: 0, posMin: 0, negMax: 0 };
    const result: FirstExtensions = {
      child,
      cert,
      value: 0,
      tried: (i) => {
        if (i >= done) fill(i + 1);
        const plane = planes[i];
        if (!plane) return false;
        cert.plane = plane;
        cert.pos = poss[i];
        cert.posMin = posMins[i];
        cert.negMax = negMaxs[i];
        result.value = values[i];
        return true;
      },
    };
    return result;
  }

  /**
   * Witnesses wholly inside the point set `members` (made of the clusters `partsOfC` under `owner`): then any other
   * cluster containing the witness's other side overlaps it. Returns target id -> the witnessed points inside
   * `members` (whose distances from its centre bound its radius from below).
   */
  private witnessTargets(members: Int32Array, owner: Int32Array, partsOfC: number[]): Map<number, number[]> {
    const targets = new Map<number, number[]>();
    if (this.witnessesByPoint.size === 0) return targets;
    const inC = (p: number): boolean => partsOfC.includes(owner[p]);
    for (let i = 0; i < members.length; i++) {
      if (this.witnessed[members[i]] === 0) continue;
      const ws = this.witnessesByPoint.get(members[i]);
      if (!ws) continue;
      for (const w of ws) {
        const [mine, theirs] = inC(w.a[0]) ? [w.a, w.b] : [w.b, w.a];
        if (!mine.every(inC)) continue;
        const target = owner[theirs[0]];
        if (!theirs.every((p) => owner[p] === target)) continue;
        const pts = targets.get(target);
        if (pts) pts.push(...mine);
        else targets.set(target, [...mine]);
      }
    }
    return targets;
  }

  /**
   * True if a stored witness proves that the merge of a and b (`members`: a's then b's) overlaps a cluster of
   * another label in `pool`, decided without the merged cluster's exact geometry; false: not decided here (ask
   * firstOverlap). firstOverlap would return such a target only if the bounding spheres meet (sphereGap < 0), which
   * needs the centroid (a pass over all members) and the radius (a second pass). Here the centroid comes from the
   * children's centroids in O(dim), and the radius is bounded from below by the witness points' distances, as in
   * firstOverlap; the spheres must then meet by a margin far above what rounding can move (the children's
   * centroids and the sequential sum differ by at most about members * 2^-52 * the mean norm of the points, and
   * the margin is over 2,000 times twice that, plus 1e-9 of the scale), so the answer is firstOverlap's. Vetoed merges, most
   * of DirectProbe's proposals at the end, then cost a witness lookup instead of passes over a large cluster.
   */
  witnessedMergeOverlap(a: ClusterGeom, b: ClusterGeom, members: Int32Array, owner: Int32Array, pool: SpherePool): boolean {
    this.lastHint = undefined;
    const targets = this.witnessTargets(members, owner, [a.id, b.id]);
    if (targets.size === 0) return false;
    const merged = this.mergedSphere(a, b, members.length);
    for (const id of [...targets.keys()].sort((p, q) => p - q)) {
      const x = this.geoms.get(id);
      if (!x || x.label === a.label || !pool.has(x)) continue;
      if (this.witnessedSpheresMeet(merged, targets.get(id)!, x, pool.projectionsOf(x).norm, 0)) {
        this.stats.checks++;
        this.stats.witnessHits++;
        this.lastHint = { points: targets.get(id)!, otherPoint: x.members[0] };
        return true;
      }
    }
    return false;
  }

  /** The hint of the overlap that firstOverlap or witnessedMergeOverlap last returned (undefined: none), once. */
  takeVetoHint(): VetoHint | undefined {
    const h = this.lastHint;
    this.lastHint = undefined;
    return h;
  }

  /**
   * True only if witnessedMergeOverlap(a, b, ...) would be true: for a merge whose parts contain the parts of a merge
   * vetoed with `hint`, tests that one witness target, without collecting every witness inside the merge. The target
   * T (the cluster holding hint.otherPoint) is among witnessedMergeOverlap's targets, with witnessed points that
   * include hint.points, so its radius bound rLow there is at least the one here; its sphere test only gets easier
   * as rLow grows (cd - rLow - r_x falls by about the growth, the margin rises by 1e-9 of it), and the extra margin
   * 1e-15 (cd + rLow + r_x) here covers the rounding of the two evaluations. Then witnessedMergeOverlap would veto too
   * (at T or at a smaller target id): the same answer, and the same counts.
   */
  hintedMergeOverlap(a: ClusterGeom, b: ClusterGeom, n: number, hint: VetoHint, owner: Int32Array, pool: SpherePool): boolean {
    const x = this.geoms.get(owner[hint.otherPoint]);
    if (!x || x.label === a.label || !pool.has(x)) return false;
    if (!this.witnessedSpheresMeet(this.mergedSphere(a, b, n), hint.points, x, pool.projectionsOf(x).norm, 1e-15)) return false;
    this.stats.checks++;
    this.stats.witnessHits++;
    return true;
  }

  /** The centre of a merge from its parts' centroids (O(dim)), its norm, and an upper bound of its radius. */
  private mergedSphere(a: ClusterGeom, b: ClusterGeom, n: number): { centre: Float64Array; cn2: number; rUp: number; n: number } {
    const dim = this.m.dim;
    if (this.mergedCentre.length !== dim) this.mergedCentre = new Float64Array(dim);
    const centre = this.mergedCentre;
    let cn2 = 0;
    for (let k = 0; k < dim; k++) {
      centre[k] = (a.members.length * a.centre[k] + b.members.length * b.centre[k]) / n;
      cn2 += centre[k] * centre[k];
    }
    // Upper bound of the merged radius (each child's ball lies in the merged centre's ball of this radius).
    let rUp = 0;
    for (const ch of [a, b]) {
      let d2 = 0;
      for (let k = 0; k < dim; k++) d2 += (centre[k] - ch.centre[k]) ** 2;
      rUp = Math.max(rUp, Math.sqrt(d2) + ch.radius);
    }
    return { centre, cn2, rUp, n };
  }

  /**
   * witnessedMergeOverlap's test for one target x: the merge's sphere, with its radius bounded from below by the
   * witnessed points' distances, meets x's by more than rounding can explain (plus `extra` of the scale). xNorm: |x's
   * centre| (the pool keeps it, summed in the same order).
   */
  private witnessedSpheresMeet(merged: { centre: Float64Array; cn2: number; rUp: number; n: number }, points: number[], x: ClusterGeom, xNorm: number, extra: number): boolean {
    const dim = this.m.dim;
    const { centre, cn2, rUp, n } = merged;
    let r2 = 0;
    for (const p of points) r2 = Math.max(r2, sqDistFromCentre(this.m, p, centre));
    const rLow = Math.sqrt(r2);
    let cd2 = 0;
    for (let k = 0; k < dim; k++) cd2 += (centre[k] - x.centre[k]) ** 2;
    const cd = Math.sqrt(cd2);
    const rounding = 1e-12 * n * (Math.sqrt(cn2) + rUp + xNorm + x.radius);
    const margin = 1e-9 * (cd + rLow + x.radius) + rounding;
    if (extra === 0) return cd - rLow - x.radius < -margin;
    return cd - rLow - x.radius < -margin - extra * (cd + rLow + x.radius);
  }

  /** sphereGap over the pool's clusters of other labels (the same arithmetic on the flat copies of the centres). */
  private scanPool(
    c: ClusterGeom,
    pool: SpherePool,
    candidates: Candidates,
    narrow?: (x: ClusterGeom) => boolean,
    witnessed?: Map<number, unknown>,
  ): void {
    const dim = this.m.dim;
    pool.beforeScan();
    const { centres, radii, labels, proj, norms, resids } = pool;
    const cc = c.centre;
    const rc = c.radius;
    const nd = pool.directions.length;
    const { proj: pc, norm: nc, resid: rcRes } = pool.projectionsOf(c);
    let checks = 0;
    let skips = 0;
    let projSkips = 0;
    // The interval test when the pool keeps the oracle's intervals: in the native kernel if built, else in consider.
    const iv = pool.intervals !== undefined && pool.intervals === this.intervals ? pool.intervals : undefined;
    const civ = iv ? this.intervalsOf(c) : undefined;
    let ivDone = iv === undefined;
    // The exact sphere test on a slot that survived the filters: a candidate, or one more skip.
    const consider = (s: number, cd2: number) => {
      const cd = Math.sqrt(cd2);
      const gap = cd - rc - radii[s];
      if (gap >= 0) {
        skips++;
        return;
      }
      const x = pool.geoms[s]!;
      if (narrow && !narrow(x)) return;
      // A witnessed overlap is returned as such (firstOverlap), never ruled out by the intervals' tolerance.
      if (!ivDone && !witnessed?.has(x.id) && this.intervalsApart(c, x, cd)) return;
      if (this.geoms.get(x.id) === undefined) this.geoms.set(x.id, x);
      candidates.push(x, gap, cd);
    };
    const native = nativeScan();
    if (native) {
      // The kernel runs the loop below up to the partial distance (same doubles) and hands back the slots left, in
      // another order when split across threads (candidates are sorted).
      if (this.scanSlots.length < pool.size) {
        this.scanSlots = new Int32Array(2 * pool.size);
        this.scanCd2 = new Float64Array(2 * pool.size);
      }
      const slots = this.scanSlots;
      const cd2s = this.scanCd2;
      const counts = this.scanCounts;
      counts.fill(0);
      let n = native.blockscan!(centres, radii, labels, proj, norms, pool.size, dim, nd, pool.projStride, cc, rc, c.label, pc, nc, slots, cd2s, counts, resids, rcRes, pool.bLo, pool.bHi, pool.bRad, pool.bNorm, pool.bLive, pool.bLabel, pool.labelCap, SpherePool.BLOCK);
      checks = counts[0];
      skips = counts[1];
      projSkips = counts[2];
      if (iv && civ && native.ivfilter && !witnessed?.size) {
        // consider's interval test in the kernel (witness targets, which it must not rule out, are none here).
        const kept = native.ivfilter(pool.iv, iv.size, labels, radii, slots, cd2s, n, civ, rc, iv.firstDirTable(c.label), this.overlapTol, iv.err);
        this.stats.intervalSkips += n - kept;
        n = kept;
        ivDone = true;
      }
      for (let i = 0; i < n; i++) consider(slots[i], cd2s[i]);
    }
    for (let s = 0; s < (native ? 0 : pool.size); s++) {
      if (labels[s] === c.label || labels[s] < 0) continue;
      checks++;
      const rx = radii[s];
      const reach = rc + rx;
      if (nd > 0 && projectionsApart(pc, proj, s, pool.projStride, nd, reach, nc + norms[s], rcRes, resids[s])) {
        projSkips++;
        continue;
      }
      const limit = reach * reach * (1 + 1e-9) + 1e-300;
      const off = s * dim;
      let cd2 = 0;
      let k = 0;
      let far = false;
      while (k < dim) {
        const end = Math.min(k + 32, dim);
        for (; k < end; k++) {
          const t = cc[k] - centres[off + k];
          cd2 += t * t;
        }
        if (cd2 > limit) {
          far = true;
          break;
        }
      }
      if (far) {
        skips++;
        continue;
      }
      consider(s, cd2);
    }
    this.stats.checks += checks;
    this.stats.sphereSkips += skips + projSkips;
    this.stats.projectionSkips += projSkips;
  }

  /** True if c's and x's projection intervals prove them separated (spheres meeting at centre distance cd). */
  private intervalsApart(c: ClusterGeom, x: ClusterGeom, cd: number): boolean {
    const iv = this.intervals;
    if (!iv) return false;
    if (!iv.apart(c, x, this.intervalsOf(c), this.intervalsOf(x), this.overlapTol * (cd + c.radius + x.radius))) return false;
    this.stats.intervalSkips++;
    return true;
  }

  /** Separated-or-not for one pair, through the solver (and its caches). */
  private solve(a: ClusterGeom, b: ClusterGeom): boolean {
    // One projection pass on the direction between the centroids separates most well-apart pairs outright.
    const direct = centroidDirectionCert(this.m, a, b, this.overlapTol);
    if (direct) {
      this.stats.centroidDirection++;
      this.certs.set(a.id, b.id, direct.plane, direct.pos, direct.posMin, direct.negMax);
      return true;
    }
    // Warm start: the best known feasible pair of hull points, i.e. a child's nearest points to the same other
    // cluster (feasible here because the child is a subset); without weights, the children's supports.
    const warmA: number[] = [];
    const warmB: number[] = [];
    let best: { dist: number; rowsA: number[]; rowsB: number[]; wA: number[]; wB: number[] } | undefined;
    for (const [side, other, warmSide, warmOther, sideIsA] of [
      [a, b, warmA, warmB, true],
      [b, a, warmB, warmA, false],
    ] as const) {
      for (const child of side.children ?? []) {
        const e = this.certs.find(child, other.id);
        if (e < 0) continue;
        const plane = this.certs.plane(e);
        const childPos = this.certs.pos(e) === child;
        const mine = childPos ? plane.supPos : plane.supNeg;
        const theirs = childPos ? plane.supNeg : plane.supPos;
        warmSide.push(...mine);
        warmOther.push(...theirs);
        const wMine = childPos ? plane.weightPos : plane.weightNeg;
        const wTheirs = childPos ? plane.weightNeg : plane.weightPos;
        if (!wMine || !wTheirs) continue;
        let n2 = 0;
        for (let k = 0; k < plane.w.length; k++) n2 += plane.w[k] * plane.w[k];
        if (best && best.dist <= n2) continue;
        best = sideIsA
          ? { dist: n2, rowsA: mine, rowsB: theirs, wA: wMine, wB: wTheirs }
          : { dist: n2, rowsA: theirs, rowsB: mine, wA: wTheirs, wB: wMine };
      }
    }
    const warm = best
      ? { warmA: best.rowsA, warmB: best.rowsB, warmWeightA: best.wA, warmWeightB: best.wB }
      : { warmA, warmB };
    ensureSpread(this.m, a);
    ensureSpread(this.m, b);
    const t0 = performance.now();
    const r = hullDistance({ m: this.m, rows: a.members }, { m: this.m, rows: b.members }, { ...this.hullOpts, goal: "separable", ...warm, sphereA: a, sphereB: b });
    this.stats.hullSeconds += (performance.now() - t0) / 1000;
    this.stats.hullSolves++;
    this.stats.hullIterations += r.iterations;
    this.stats.lpSolves += r.lpSolves;
    this.stats.lpSeconds += r.lpSeconds;
    if (r.solver === "corral") this.stats.corralDecided++;
    if (r.status === "separated") {
      this.stats.hullSeparated++;
      const plane = makePlane(r.w, r.supportA, r.supportB, r.weightA, r.weightB);
      this.certs.set(a.id, b.id, plane, a.id, r.minA, r.maxB);
      return true;
    }
    // Undecided within the budget: the distance is below upper, which is tiny; count it as overlap, as the
    // reference's LP with feasibility tolerance 1e-4 would.
    if (r.status === "overlap") this.stats.hullOverlap++;
    else this.stats.hullUndecided++;
    const w: Witness = { a: r.supportA, b: r.supportB };
    this.lastHint = { points: r.supportA, otherPoint: b.members[0] };
    // A witness inside a cluster has its first point there: index it under both sides' first points.
    for (const p of new Set([w.a[0], w.b[0]])) {
      let list = this.witnessesByPoint.get(p);
      if (!list) this.witnessesByPoint.set(p, (list = []));
      this.witnessed[p] = 1;
      list.push(w);
    }
    return false;
  }

  /**
   * The child of `a` (0 or 1) whose hyperplanes extendFromChildren tries first: the one whose sibling has fewer rows to
   * project (ties: the first child).
   */
  private firstChild(a: ClusterGeom): 0 | 1 {
    const first = this.geoms.get(a.children![0]);
    const second = this.geoms.get(a.children![1]);
    // Child 1's hyperplane needs the first child's rows projected: it goes first when the first child is the smaller.
    return first !== undefined && second !== undefined && first.members.length < second.members.length ? 1 : 0;
  }

  /**
   * The hyperplane between `child` and b, into this.found: stored, else the one between their disjoint bounding
   * spheres; false if neither.
   */
  private childHyperplane(child: number, b: ClusterGeom): boolean {
    const found = this.found;
    const e = this.certs.find(child, b.id);
    if (e >= 0) {
      found.plane = this.certs.plane(e);
      found.pos = this.certs.pos(e);
      found.posMin = this.certs.posMin(e);
      found.negMax = this.certs.negMax(e);
      return true;
    }
    const g = this.geoms.get(child);
    return g !== undefined && sphereCert(g, b, found);
  }

  /**
   * A hyperplane separating one child of `a` from `b` (stored, or the one between their disjoint bounding
   * spheres) that also has a's other child on the child's side: then it separates a from b. `skip`: a child whose
   * hyperplane was already tried (firstExtensions).
   */
  private extendFromChildren(a: ClusterGeom, b: ClusterGeom, scale: number, skip?: number): boolean {
    if (!a.children) return false;
    // A child's hyperplane is looked up or derived from the spheres only when its turn comes: the first option
    // usually succeeds, and a sphere hyperplane costs two passes over the coordinates and an allocation.
    const firstT = this.firstChild(a);
    for (let i = 0; i < 2; i++) {
      const t = firstT ^ i;
      const child = a.children[t];
      const other = this.geoms.get(a.children[1 - t]);
      if (!other || child === skip) continue;
      if (!this.childHyperplane(child, b)) continue;
      const cert = this.found;
      // A row of the other child on the far side of the opposite bound (posMin <= negMax) already fails the test
      // in extendWith (posMin - negMax <= 0): the projection stops there.
      const value =
        cert.pos === child
          ? extremeProjection(this.m, other.members, cert.plane.w, true, cert.posMin, cert.negMax)
          : extremeProjection(this.m, other.members, cert.plane.w, false, cert.negMax, cert.posMin);
      if (this.extendWith(a, b, child, cert, value, scale)) return true;
    }
    return false;
  }

  /**
   * True if `cert` (between a's child `child` and b) still separates a and b once the other child's extreme projection
   * on it (`value`: min on the child's positive side, max on its negative side, from the child's bound) is taken in;
   * then it is stored for a and b.
   */
  private extendWith(a: ClusterGeom, b: ClusterGeom, child: number, cert: Cert, value: number, scale: number): boolean {
    const childPos = cert.pos === child;
    const posMin = childPos ? value : cert.posMin;
    const negMax = childPos ? cert.negMax : value;
    if (!((posMin - negMax) / normOf(cert.plane) > this.overlapTol * scale)) return false;
    // The same hyperplane, now between a and b.
    this.certs.set(a.id, b.id, cert.plane, childPos ? a.id : b.id, posMin, negMax);
    return true;
  }
}

/** firstExtensions' answer: tried(i) is true if candidate i had a hyperplane to extend, then in cert and value. */
interface FirstExtensions {
  child: number;
  cert: Cert;
  value: number;
  tried(i: number): boolean;
}

/**
 * The clusters of one check whose bounding spheres meet the query's, with the gap and centre distance of each, in
 * typed arrays reused from check to check rather than an object per candidate (over 100 million on full POS).
 * sort() orders them by gap, then id; x(i) and cd(i) then read the i-th in that order.
 */
class Candidates {
  private xs: ClusterGeom[] = [];
  private gaps = new Float64Array(64);
  private ids = new Int32Array(64);
  private cds = new Float64Array(64);
  private order = new Int32Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  push(x: ClusterGeom, gap: number, cd: number): void {
    const i = this.size++;
    if (i === this.gaps.length) {
      this.gaps = grownFloat64(this.gaps, 2 * i);
      this.ids = grownInt32(this.ids, 2 * i);
      this.cds = grownFloat64(this.cds, 2 * i);
      this.order = grownInt32(this.order, 2 * i);
    }
    this.xs[i] = x;
    this.gaps[i] = gap;
    this.ids[i] = x.id;
    this.cds[i] = cd;
  }

  sort(): void {
    const order = this.order;
    for (let i = 0; i < this.size; i++) order[i] = i;
    sortByGapThenId(order, this.size, this.gaps, this.ids);
  }

  x(i: number): ClusterGeom {
    return this.xs[this.order[i]];
  }

  cd(i: number): number {
    return this.cds[this.order[i]];
  }
}

/**
 * Sorts order[0..n) by (gaps[i], ids[i]) ascending (the ids are distinct, so the order is unique: any correct sort
 * gives this one). Quicksort with median-of-three pivots and insertion sort below 16 elements, on the keys directly:
 * Array.prototype.sort with a comparator cost a closure call per comparison (50 s of a full POS run).
 */
export function sortByGapThenId(order: Int32Array, n: number, gaps: Float64Array, ids: Int32Array): void {
  const less = (p: number, q: number): boolean => gaps[p] < gaps[q] || (gaps[p] === gaps[q] && ids[p] < ids[q]);
  const stack: number[] = [0, n - 1];
  while (stack.length > 0) {
    let hi = stack.pop()!;
    let lo = stack.pop()!;
    while (hi - lo >= 16) {
      const mid = (lo + hi) >> 1;
      // Median of three into order[mid], then partition around its value (Hoare).
      if (less(order[mid], order[lo])) swap(order, mid, lo);
      if (less(order[hi], order[lo])) swap(order, hi, lo);
      if (less(order[hi], order[mid])) swap(order, hi, mid);
      const pivot = order[mid];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (less(order[i], pivot)) i++;
        while (less(pivot, order[j])) j--;
        if (i <= j) {
          swap(order, i, j);
          i++;
          j--;
        }
      }
      // Recurse into the smaller side later (bounded stack), loop on the larger.
      if (j - lo < hi - i) {
        stack.push(i, hi);
        hi = j;
      } else {
        stack.push(lo, j);
        lo = i;
      }
    }
    for (let i = lo + 1; i <= hi; i++) {
      const v = order[i];
      let j = i - 1;
      while (j >= lo && less(v, order[j])) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  }
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Values by non-negative integer id in a plain array (ids are dense here: points, then merges). */
class IdTable<T> {
  private items: (T | undefined)[] = [];

  /** One past the largest id ever set. */
  get length(): number {
    return this.items.length;
  }

  get(id: number): T | undefined {
    return this.items[id];
  }

  set(id: number, v: T): void {
    while (this.items.length < id) this.items.push(undefined);
    this.items[id] = v;
  }

  delete(id: number): void {
    if (id < this.items.length) this.items[id] = undefined;
  }
}

/**
 * Values per unordered pair of cluster ids, each stored once, in a Map of the pair's newer (larger) id: storing under
 * both ids doubled the work, and the older side's Map (a long-lived cluster checked against every newcomer) grew
 * large and cache-unfriendly. deleteAll(id) drops id's own Map; the entries about id in newer ids' Maps stay, marked
 * stale by a flag, so that lookups ignore them, and are purged only if id is ever stored under again (DirectProbe
 * reuses only a vetoed candidate's id, which is the newest, so that purge never runs there). `release` is told of
 * every value that leaves (replaced, or its Map dropped or purged).
 */
class PairMap<T> {
  private byNewer = new IdTable<Map<number, T>>();
  private stale = new Uint8Array(0);

  constructor(private readonly release: (v: T) => void) {}

  get(a: number, b: number): T | undefined {
    const lo = a < b ? a : b;
    if (lo < this.stale.length && this.stale[lo] === 1) return undefined;
    return this.byNewer.get(a < b ? b : a)?.get(lo);
  }

  set(a: number, b: number, v: T): void {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    if (lo < this.stale.length && this.stale[lo] === 1) this.purge(lo);
    if (hi < this.stale.length && this.stale[hi] === 1) this.purge(hi);
    let m = this.byNewer.get(hi);
    if (!m) this.byNewer.set(hi, (m = new Map()));
    const old = m.get(lo);
    if (old !== undefined) this.release(old);
    m.set(lo, v);
  }

  /** Removes every pair with id. */
  deleteAll(id: number): void {
    const own = this.byNewer.get(id);
    if (own) {
      for (const v of own.values()) this.release(v);
      this.byNewer.delete(id);
    }
    if (id + 1 >= this.byNewer.length) return; // no newer Map can hold an entry about id
    if (id >= this.stale.length) {
      const grown = new Uint8Array(Math.max(2 * this.stale.length, id + 1, 1024));
      grown.set(this.stale);
      this.stale = grown;
    }
    this.stale[id] = 1;
  }

  /** Drops the stale entries about id from the newer ids' Maps, before id is stored under again. */
  private purge(id: number): void {
    for (let hi = id + 1; hi < this.byNewer.length; hi++) {
      const m = this.byNewer.get(hi);
      const v = m?.get(id);
      if (v === undefined) continue;
      this.release(v);
      m!.delete(id);
    }
    this.stale[id] = 0;
  }
}

/**
 * The separating hyperplanes found so far, one per pair of cluster ids, in typed arrays (plane slot, positive id,
 * posMin, negMax) indexed from small-integer Maps, rather than an object per pair: a full POS run stores over 100
 * million, and as objects they filled a heap of several GB that garbage collection kept copying and marking. Planes
 * are shared by the pairs they separate and dropped with the last of them.
 */
class CertStore {
  private readonly pairs = new PairMap<number>((e) => this.free(e));
  private planes: (Plane | undefined)[] = [];
  private planeRefs = new Int32Array(1024);
  private freePlanes: number[] = [];
  private planeOf = new Int32Array(1024);
  private posOf = new Int32Array(1024);
  private posMins = new Float64Array(1024);
  private negMaxs = new Float64Array(1024);
  private freeEntries = new Int32Array(1024);
  private nFree = 0;
  private used = 0;

  /** The entry of the pair (a, b), or -1. */
  find(a: number, b: number): number {
    const e = this.pairs.get(a, b);
    return e === undefined ? -1 : e;
  }

  plane(e: number): Plane {
    return this.planes[this.planeOf[e]]!;
  }

  pos(e: number): number {
    return this.posOf[e];
  }

  posMin(e: number): number {
    return this.posMins[e];
  }

  negMax(e: number): number {
    return this.negMaxs[e];
  }

  set(a: number, b: number, plane: Plane, pos: number, posMin: number, negMax: number): void {
    let slot = plane.slot;
    if (slot === undefined) {
      slot = this.freePlanes.length > 0 ? this.freePlanes.pop()! : this.planes.length;
      if (slot >= this.planeRefs.length) this.planeRefs = grownInt32(this.planeRefs, slot + 1);
      this.planes[slot] = plane;
      this.planeRefs[slot] = 0;
      plane.slot = slot;
    }
    this.planeRefs[slot]++;
    let e: number;
    if (this.nFree > 0) e = this.freeEntries[--this.nFree];
    else {
      e = this.used++;
      if (e >= this.planeOf.length) {
        this.planeOf = grownInt32(this.planeOf, e + 1);
        this.posOf = grownInt32(this.posOf, e + 1);
        this.posMins = grownFloat64(this.posMins, e + 1);
        this.negMaxs = grownFloat64(this.negMaxs, e + 1);
      }
    }
    this.planeOf[e] = slot;
    this.posOf[e] = pos;
    this.posMins[e] = posMin;
    this.negMaxs[e] = negMax;
    this.pairs.set(a, b, e);
  }

  deleteAll(id: number): void {
    this.pairs.deleteAll(id);
  }

  private free(e: number): void {
    const slot = this.planeOf[e];
    if (--this.planeRefs[slot] === 0) {
      this.planes[slot]!.slot = undefined;
      this.planes[slot] = undefined;
      this.freePlanes.push(slot);
    }
    if (this.nFree === this.freeEntries.length) this.freeEntries = grownInt32(this.freeEntries, this.nFree + 1);
    this.freeEntries[this.nFree++] = e;
  }
}

function grownInt32(a: Int32Array, atLeast: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(2 * a.length, atLeast));
  b.set(a);
  return b;
}

function grownFloat64(a: Float64Array, atLeast: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(2 * a.length, atLeast));
  b.set(a);
  return b;
}

/** The native sphere scan, if built (an addon built before it existed lacks it: then the JS loop). */
function nativeScan(): NativeDist | null {
  const native = loadNativeDist();
  return native && typeof native.blockscan === "function" ? native : null;
}

/**
 * The projection filter: true if the projections of the centres c and x on the pool's orthonormal directions u_j (pc,
 * and the slot's values in the direction-major proj: proj[j * stride + s]) and the norms of their parts outside the
 * directions' span (rc, rx: residualNorm) prove the spheres of radii summing to `reach` apart by far more than
 * rounding, so that sphereGap (and scanPool's partial distance) would skip the pair too.
 *
 * Exactly, with U the directions as columns, G = U'U = I + E and v = c - x, t = U'v: |v|^2 = t'Gt - 2t'Et + |v - Ut|^2
 * (as U'(v - Ut) = -Et) = |t|^2 - t'Et + |r_c - r_x|^2, where r = y - U U'y is a centre's part outside the span; the
 * pool checks the u_j orthonormal within 1e-10 per inner product, so with at most 64 of them |t'Et| <= 6.4e-9 |t|^2,
 * and |r_c - r_x| >= | |r_c| - |r_x| |. Hence |v|^2 >= (1 - 6.4e-9) (sum_j t_j^2 + (|r_c| - |r_x|)^2). Computing u.c
 * and u.x in float64 errs by at most dim * 2^-53 * (|c| + |x|) (< 1e-12 (|c| + |x|) = delta for dim < 9000), so |t_j|
 * >= |computed t_j| - delta; a computed residual norm errs by less than 1e-10 of the centre's norm (its projections'
 * errors, at most 64 of 1e-12 |y| each, through unit directions, and the sums' rounding), so | |r_c| - |r_x| | >=
 * |rc - rx| - 1e-10 (|c| + |x|). If the sum of those lower bounds squared exceeds reach^2 (1 + 1e-7), |c - x|^2
 * exceeds reach^2 (1 + 9e-8), and the float sum of squares (relative error dim * 2^-53) exceeds reach^2 (1 + 1e-9),
 * the partial-distance limit. The directions' terms come in order, the residual's last; the native blockscan kernel
 * runs the same expressions.
 */
function projectionsApart(pc: Float64Array, proj: Float64Array, s: number, stride: number, nd: number, reach: number, norms: number, rc: number, rx: number): boolean {
  const delta = 1e-12 * norms;
  const enough = reach * reach * (1 + 1e-7);
  let low2 = 0;
  for (let j = 0; j < nd && low2 <= enough; j++) {
    const t = Math.abs(pc[j] - proj[j * stride + s]) - delta;
    if (t > 0) low2 += t * t;
  }
  if (low2 <= enough) {
    const t = Math.abs(rc - rx) - 1e-10 * norms;
    if (t > 0) low2 += t * t;
  }
  return low2 > enough;
}

/**
 * Distance of the bounding spheres' centres and the gap between the spheres when they meet (gap < 0), else
 * undefined. Partial distance: most pairs are far apart, and a partial sum of squares already past (r_c + r_x)^2
 * (with a margin far above rounding) proves the spheres disjoint; otherwise the full sum, in the same order.
 */
function sphereGap(c: ClusterGeom, x: ClusterGeom, dim: number, cRadius = c.radius): { gap: number; cd: number } | undefined {
  const cc = c.centre;
  const xc = x.centre;
  const reach = cRadius + x.radius;
  const limit = reach * reach * (1 + 1e-9) + 1e-300;
  let cd2 = 0;
  let k = 0;
  while (k < dim) {
    const end = Math.min(k + 32, dim);
    for (; k < end; k++) cd2 += (cc[k] - xc[k]) ** 2;
    if (cd2 > limit) return undefined;
  }
  const cd = Math.sqrt(cd2);
  const gap = cd - cRadius - x.radius;
  return gap >= 0 ? undefined : { gap, cd };
}

/** The hyperplane between two disjoint bounding spheres (normal along the centres), into `out`; false if they meet. */
function sphereCert(a: ClusterGeom, b: ClusterGeom, out: Cert): boolean {
  const dim = a.centre.length;
  // The distance first (most spheres meet): w is only built for the hyperplanes returned, with the same values.
  let n2 = 0;
  for (let k = 0; k < dim; k++) {
    const t = a.centre[k] - b.centre[k];
    n2 += t * t;
  }
  const n = Math.sqrt(n2);
  if (n <= a.radius + b.radius) return false;
  const w = new Float64Array(dim);
  for (let k = 0; k < dim; k++) w[k] = a.centre[k] - b.centre[k];
  let pa = 0;
  let pb = 0;
  for (let k = 0; k < dim; k++) {
    pa += w[k] * a.centre[k];
    pb += w[k] * b.centre[k];
  }
  out.plane = makePlane(w, [], []);
  out.pos = a.id;
  out.posMin = pa - a.radius * n;
  out.negMax = pb + b.radius * n;
  return true;
}

/** The hyperplane normal to centre(a) - centre(b) at the best offset, if it separates a from b. */
function centroidDirectionCert(m: Matrix, a: ClusterGeom, b: ClusterGeom, overlapTol: number): Cert | undefined {
  const dim = m.dim;
  const w = new Float64Array(dim);
  let n2 = 0;
  for (let k = 0; k < dim; k++) {
    w[k] = a.centre[k] - b.centre[k];
    n2 += w[k] * w[k];
  }
  if (!(n2 > 0)) return undefined;
  // The smaller side first, then the larger one only until a row crosses the first side's extreme (then
  // posMin <= negMax: no separation, whatever the rest).
  let negMax: number;
  let posMin: number;
  if (b.members.length <= a.members.length) {
    negMax = extremeProjection(m, b.members, w, false, -Infinity);
    posMin = extremeProjection(m, a.members, w, true, Infinity, negMax);
  } else {
    posMin = extremeProjection(m, a.members, w, true, Infinity);
    negMax = extremeProjection(m, b.members, w, false, -Infinity, posMin);
  }
  const n = Math.sqrt(n2);
  const scale = n + a.radius + b.radius;
  if ((posMin - negMax) / n <= overlapTol * scale) return undefined;
  return { plane: makePlane(w, [], []), pos: a.id, posMin, negMax };
}
