/**
 * Centroid-linkage agglomeration restricted to same-label pairs, closest centroids first, with an optional
 * veto per merge (DirectProbe's overlap check). A vetoed pair is never proposed again, exactly as the
 * reference pops it from its pair heap; clusters created later get fresh pairs.
 *
 * The reference keeps a heap of every same-label pair (O(n^2) memory: 600 million pairs for the largest POS
 * label). We keep, per cluster, its nearest valid partner and a lower bound of that distance in a heap
 * (Muellner's "generic" linkage algorithm): memory O(n d), and a popped entry whose partner is still valid is
 * the global closest pair, so the merge order is the reference's.
 */
import { Matrix } from "./matrix";
import { loadNativeBlas } from "../model/native-blas";
import { loadNativeDist } from "./native-dist";

export interface AggCluster {
  id: number;
  label: number;
  members: Int32Array;
}

export interface MergeRecord {
  a: number;
  b: number;
  /** Id of the merged cluster. */
  id: number;
  /** Euclidean distance between the centroids of a and b. */
  distance: number;
  label: number;
}

/** Labels with more clusters than this get their first candidates from the BLAS kernel (when built). */
const KNN_MIN_ROWS = 512;

/** Min-heap of (key, id, version) with lazy deletion. */
class KeyHeap {
  private keys: number[] = [];
  private ids: number[] = [];
  private vers: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, id: number, ver: number): void {
    const { keys, ids, vers } = this;
    let i = keys.length;
    keys.push(key);
    ids.push(id);
    vers.push(ver);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { key: number; id: number; ver: number } | undefined {
    const { keys, ids, vers } = this;
    if (keys.length === 0) return undefined;
    const top = { key: keys[0], id: ids[0], ver: vers[0] };
    const last = keys.length - 1;
    this.swap(0, last);
    keys.pop();
    ids.pop();
    vers.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < keys.length && this.less(l, s)) s = l;
      if (r < keys.length && this.less(r, s)) s = r;
      if (s === i) break;
      this.swap(i, s);
      i = s;
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    return this.keys[i] < this.keys[j] || (this.keys[i] === this.keys[j] && this.ids[i] < this.ids[j]);
  }

  private swap(i: number, j: number): void {
    const { keys, ids, vers } = this;
    [keys[i], keys[j]] = [keys[j], keys[i]];
    [ids[i], ids[j]] = [ids[j], ids[i]];
    [vers[i], vers[j]] = [vers[j], vers[i]];
  }
}

export interface AgglomerateOptions {
  /** Return false to forbid merging a and b (the pair is then never proposed again). */
  allow?: (a: AggCluster, b: AggCluster, merged: AggCluster) => boolean;
  /**
   * A forbidden pair stays forbidden for the clusters its two parts grow into: once (a, b) is vetoed, no pair
   * (A, B) with A containing a and B containing b is proposed. The merges are unchanged whenever the veto is
   * monotone (a pair whose parts contain a vetoed pair's parts would be vetoed too, as DirectProbe's overlap
   * check is: see directprobe.ts); only the proposals that would be vetoed again are skipped.
   */
  inheritVetoes?: boolean;
  /** First id to give merged clusters (default: 1 + the largest input id). */
  nextId?: number;
  /** Called after every accepted merge. */
  onMerge?: (rec: MergeRecord, active: number) => void;
  /**
   * Use the native distance kernel when it is built (default true). Its distances are bit-identical to the JS
   * loop's, so the merges are the same either way; false forces the JS loop (for tests).
   */
  native?: boolean;
  /**
   * Threads for the native scan of long label lists (default 1; the kernel's thread setting caps it). The merges are
   * the same with any number: a scan split into parts computes a few more exact distances, none that changes a
   * candidate list, a key or a merged cluster's nearest (ftgeo_dist.c, mergePart).
   */
  scanThreads?: number;
}

/**
 * Live cluster id -> slot: a typed array indexed by id when the ids are small non-negative integers (DirectProbe's
 * always are: `capacity` > every id), else a Map. The candidate lists ask it on every scan of every merge, where Map
 * lookups were 2-3% of a pos run.
 */
class SlotTable {
  private readonly dense: Int32Array | undefined;
  private readonly map: Map<number, number> | undefined;
  size = 0;

  constructor(capacity: number) {
    if (capacity > 0) this.dense = new Int32Array(capacity);
    else this.map = new Map();
  }

  get(id: number): number | undefined {
    if (this.dense) {
      const v = id >= 0 && id < this.dense.length ? this.dense[id] : 0;
      return v > 0 ? v - 1 : undefined;
    }
    return this.map!.get(id);
  }

  has(id: number): boolean {
    if (this.dense) return id >= 0 && id < this.dense.length && this.dense[id] > 0;
    return this.map!.has(id);
  }

  set(id: number, slot: number): void {
    if (this.dense) {
      if (!(id >= 0 && id < this.dense.length)) throw new RangeError(`agglomerate: cluster id ${id} outside 0..${this.dense.length - 1}`);
      if (this.dense[id] === 0) this.size++;
      this.dense[id] = slot + 1;
      return;
    }
    this.map!.set(id, slot);
    this.size = this.map!.size;
  }

  delete(id: number): void {
    if (this.dense) {
      if (id >= 0 && id < this.dense.length && this.dense[id] > 0) {
        this.dense[id] = 0;
        this.size--;
      }
      return;
    }
    this.map!.delete(id);
    this.size = this.map!.size;
  }
}

/**
 * Merges same-label clusters, closest centroids first, until no allowed pair is left. Returns the merges in
 * order and the final clusters. Input clusters must be label-pure and disjoint.
 *
 * Storage is by slot (a merged cluster takes over its first parent's slot): centroids in one flat Float64Array,
 * partners, keys and versions in typed arrays, each label's active slots in a dense list, so the O(n) scan
 * after every merge touches contiguous memory only (POS has labels of 35,000 points).
 */
export function agglomerate(m: Matrix, input: AggCluster[], opts: AgglomerateOptions = {}): { merges: MergeRecord[]; clusters: AggCluster[] } {
  const dim = m.dim;
  const N = input.length;
  let maxId = opts.nextId ?? 0;
  let smallIds = true;
  for (const c of input) {
    if (!(Number.isInteger(c.id) && c.id >= 0)) smallIds = false;
    else if (c.id > maxId) maxId = c.id;
  }
  // Every merge takes the next id: at most N - 1 of them after the largest input id (or opts.nextId).
  const slotOf = new SlotTable(smallIds && maxId + N < 8 * N + (1 << 20) ? maxId + N + 1 : 0); // live cluster id -> slot
  const clusterAt: AggCluster[] = new Array(N);
  const cen = new Float64Array(N * dim);
  const nnId = new Float64Array(N); // nearest valid partner's id; -1 = must recompute; -2 = none left
  const mind = new Float64Array(N); // squared distance to nn (a lower bound when nn is -1)
  const version = new Int32Array(N);
  const idAt = new Float64Array(N); // id of the cluster in each slot
  const rejected = new Map<number, Set<number>>();
  // Active slots per label: a dense list and each slot's position in it.
  const labelIndex = new Map<number, number>();
  const lists: Int32Array[] = [];
  const listLen: number[] = [];
  const labelOfSlot = new Int32Array(N);
  let nextId = opts.nextId ?? 0;
  {
    const counts: number[] = [];
    for (const c of input) {
      let li = labelIndex.get(c.label);
      if (li === undefined) {
        labelIndex.set(c.label, (li = counts.length));
        counts.push(0);
      }
      counts[li]++;
    }
    for (const n of counts) {
      lists.push(new Int32Array(n));
      listLen.push(0);
    }
  }
  input.forEach((c, slot) => {
    if (opts.nextId === undefined) nextId = Math.max(nextId, c.id + 1);
    slotOf.set(c.id, slot);
    clusterAt[slot] = c;
    idAt[slot] = c.id;
    const o = slot * dim;
    for (let i = 0; i < c.members.length; i++) {
      const off = c.members[i] * dim;
      for (let k = 0; k < dim; k++) cen[o + k] += m.data[off + k];
    }
    for (let k = 0; k < dim; k++) cen[o + k] /= c.members.length;
    const li = labelIndex.get(c.label)!;
    labelOfSlot[slot] = li;
    lists[li][listLen[li]++] = slot;
  });
  /*
   * Each label's list is kept in increasing slot order, so that a scan reads the centroids in memory order (the
   * hardware prefetches them; in swap-removal order every row was a cache miss, most of the scans' time on full POS).
   * A removal or insertion moves the tail of the list (4 bytes per entry), far less than the scan it serves.
   */
  const positionIn = (list: Int32Array, len: number, slot: number): number => {
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid] < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const removeFromList = (slot: number): void => {
    const li = labelOfSlot[slot];
    const list = lists[li];
    const len = listLen[li];
    const p = positionIn(list, len, slot);
    list.copyWithin(p, p + 1, len);
    listLen[li] = len - 1;
  };
  const addToList = (slot: number, li: number): void => {
    labelOfSlot[slot] = li;
    const list = lists[li];
    const len = listLen[li];
    const p = positionIn(list, len, slot);
    list.copyWithin(p + 1, p, len);
    list[p] = slot;
    listLen[li] = len + 1;
  };

  /**
   * Squared distance between the centroids in slots s and t, or any value > limit once the partial sum exceeds
   * limit (partial distance search). The sum runs in the same order either way, so a completed result is the same
   * float64 value, and a partial sum of non-negative terms never exceeds the full one: abandoning a candidate
   * whose partial sum is already > limit never changes a comparison with limit.
   */
  const BLOCK = 16;
  const d2 = (s: number, t: number, limit: number): number => {
    let a = s * dim;
    let b = t * dim;
    let s0 = 0;
    let s1 = 0;
    let k = 0;
    while (k + 1 < dim) {
      const end = Math.min(k + BLOCK, dim - 1);
      for (; k < end; k += 2, a += 2, b += 2) {
        const t0 = cen[a] - cen[b];
        const t1 = cen[a + 1] - cen[b + 1];
        s0 += t0 * t0;
        s1 += t1 * t1;
      }
      if (s0 + s1 > limit) return s0 + s1;
    }
    if (k < dim) s0 += (cen[a] - cen[b]) ** 2;
    return s0 + s1;
  };

  // Native kernel: all distances from one slot to a range of a label list at once (exact, full sums). It needs
  // an even dimension (the JS loop's odd tail squares with **, which the C kernel does not replicate).
  const native = opts.native !== false && dim % 2 === 0 ? loadNativeDist() : null;
  let distBuf = native ? new Float64Array(Math.max(1, ...listLen)) : new Float64Array(0);
  /** Fills distBuf[t - start] for list[start..end) from slot q natively; false without the kernel. */
  const fill = (q: number, list: Int32Array, start: number, end: number): boolean => {
    if (!native || end <= start) return false;
    native.sqdists(cen, dim, q, list, start, end, distBuf);
    return true;
  };

  // The native scan's float32 copy of the centroids and their norms (mergescan's estimates, in rescan and after a merge).
  const scan = native?.mergescan ? native : null;
  const cen32 = new Float32Array(scan ? N * dim : 0);
  const norms = new Float64Array(scan ? N : 0);
  const mirror = (slot: number): void => {
    const o = slot * dim;
    let n2 = 0;
    for (let k = 0; k < dim; k++) {
      cen32[o + k] = cen[o + k];
      n2 += cen[o + k] * cen[o + k];
    }
    norms[slot] = Math.sqrt(n2);
  };
  if (scan) for (let slot = 0; slot < N; slot++) mirror(slot);
  const scanThreads = Math.max(1, Math.floor(opts.scanThreads ?? 1));
  const scanPos = new Int32Array(scan ? Math.max(1, ...listLen) : 0);
  const scanD = new Float64Array(scanPos.length);
  const mark = new Int32Array(scan ? N : 0);
  /** mergescan over slot q's label list (mode 0 after merging ids aId and bId, mode 1 a rescan); returns the count. */
  const scanNative = (q: number, list: Int32Array, len: number, mode: number, aId: number, bId: number): number =>
    scan!.mergescan!(cen, cen32, dim, q, list, len, norms, nnId, mind, radius, K, aId, bId, mode, mark, scanPos, scanD, scanThreads);

  const heap = new KeyHeap();
  const setKey = (slot: number, partner: number, key: number): void => {
    nnId[slot] = partner;
    mind[slot] = key;
    heap.push(key, clusterAt[slot].id, ++version[slot]);
  };

  /*
   * Candidate lists. A cluster whose nearest partner merges away needs its new nearest partner; scanning the whole
   * label for it (O(n d)) cost 70% of the linkage time on POS. So every slot keeps up to K candidates (ids and exact
   * squared distances) and a radius R with the invariant: every live, non-rejected same-label cluster that is not
   * in the list is at squared distance >= R. The nearest live candidate is then the nearest partner whenever its
   * distance is < R; otherwise (or with no live candidate left) the slot is rescanned. Distances between two ids
   * never change (a cluster's centroid is fixed for its id's lifetime, and d2 sums in one fixed order), so the
   * answer is bit-identical to a full rescan and the merge order does not change.
   */
  const K = 12;
  const candId = new Float64Array(N * K);
  const candD = new Float64Array(N * K);
  const candLen = new Int32Array(N);
  const radius = new Float64Array(N);
  /** Adds (id, d) to slot's candidates, given d < radius[slot]; a full list drops its farthest entry, whose distance becomes the radius. */
  const addCandidate = (slot: number, id: number, d: number): void => {
    const o = slot * K;
    let len = candLen[slot];
    if (len === K) {
      // Purge dead entries first; they hold no information.
      let w = 0;
      for (let r = 0; r < len; r++) {
        if (slotOf.has(candId[o + r])) {
          candId[o + w] = candId[o + r];
          candD[o + w] = candD[o + r];
          w++;
        }
      }
      len = w;
    }
    if (len === K) {
      let far = 0;
      for (let r = 1; r < K; r++) if (candD[o + r] > candD[o + far]) far = r;
      if (d < candD[o + far]) {
        radius[slot] = Math.min(radius[slot], candD[o + far]);
        candId[o + far] = id;
        candD[o + far] = d;
      } else radius[slot] = Math.min(radius[slot], d);
    } else {
      candId[o + len] = id;
      candD[o + len] = d;
      len++;
    }
    candLen[slot] = len;
  };
  /*
   * Top-K collection per slot during a scan: keeps the K nearest (ties: smaller id) offered so far in the slot's
   * candidate arrays; topLimit[slot] is the farthest kept distance once K are kept (nothing above it can enter).
   */
  const topWorst = new Int32Array(N);
  const topLimit = new Float64Array(N);
  const topStart = (slot: number): void => {
    candLen[slot] = 0;
    topLimit[slot] = Infinity;
  };
  const topOffer = (slot: number, oid: number, d: number): void => {
    const o = slot * K;
    const cnt = candLen[slot];
    if (cnt < K) {
      candId[o + cnt] = oid;
      candD[o + cnt] = d;
      if ((candLen[slot] = cnt + 1) < K) return;
    } else if (d < topLimit[slot] || (d === topLimit[slot] && oid < candId[o + topWorst[slot]])) {
      candId[o + topWorst[slot]] = oid;
      candD[o + topWorst[slot]] = d;
    } else return;
    let w = 0;
    for (let r = 1; r < K; r++) if (candD[o + r] > candD[o + w] || (candD[o + r] === candD[o + w] && candId[o + r] > candId[o + w])) w = r;
    topWorst[slot] = w;
    topLimit[slot] = candD[o + w];
  };
  /** Ends the collection: everything left out is at >= the farthest kept distance (nothing was left out if < K). */
  const topFinish = (slot: number): void => {
    radius[slot] = candLen[slot] === K ? topLimit[slot] : Infinity;
    pickCandidate(slot, true);
  };
  /** Full scan of the slot's label: its K nearest live, non-rejected partners and the radius; sets its key. */
  const rescan = (slot: number): void => {
    const rej = rejected.get(clusterAt[slot].id);
    const li = labelOfSlot[slot];
    const list = lists[li];
    const len = listLen[li];
    topStart(slot);
    if (scan) {
      // The kernel leaves out the slot itself and its rejected partners (marked), and the slots its estimate rules
      // out (they could not enter the K nearest); the rest are offered in list order, as below.
      const marked: number[] = [slot];
      if (rej) {
        for (const id of rej) {
          const t = slotOf.get(id);
          if (t !== undefined) marked.push(t);
        }
      }
      for (const t of marked) mark[t] = 1;
      const n = scanNative(slot, list, len, 1, -3, -3);
      for (const t of marked) mark[t] = 0;
      for (let i = 0; i < n; i++) topOffer(slot, idAt[list[scanPos[i]]], scanD[i]);
      topFinish(slot);
      return;
    }
    const nat = fill(slot, list, 0, len);
    for (let t = 0; t < len; t++) {
      const other = list[t];
      if (other === slot) continue;
      const oid = idAt[other];
      if (rej && rej.has(oid)) continue;
      topOffer(slot, oid, nat ? distBuf[t] : d2(slot, other, topLimit[slot]));
    }
    topFinish(slot);
  };
  /** Sets the slot's key from its candidates; returns false (unless `final`) if they cannot prove the nearest partner. */
  const pickCandidate = (slot: number, final: boolean): boolean => {
    const rej = rejected.get(clusterAt[slot].id);
    const o = slot * K;
    let best = -1;
    let bestD = Infinity;
    for (let r = 0; r < candLen[slot]; r++) {
      const cid = candId[o + r];
      if (!slotOf.has(cid) || (rej && rej.has(cid))) continue;
      const d = candD[o + r];
      if (d < bestD || (d === bestD && cid < best)) {
        bestD = d;
        best = cid;
      }
    }
    if (best >= 0 && (final || bestD < radius[slot])) {
      setKey(slot, best, bestD);
      return true;
    }
    if (!final) return false;
    nnId[slot] = -2; // no partner left: never popped again
    version[slot]++;
    return true;
  };
  const recompute = (slot: number): void => {
    if (!pickCandidate(slot, false)) rescan(slot);
  };
  // Initial candidates: every pair once (nothing is rejected yet), offered to both ends.
  for (let slot = 0; slot < N; slot++) topStart(slot);
  const knn = native ? loadNativeBlas()?.knncand : undefined;
  for (let li = 0; li < lists.length; li++) {
    const list = lists[li];
    const len = listLen[li];
    if (knn && len > KNN_MIN_ROWS) {
      initialFromCandidates(list.subarray(0, len), knn);
      continue;
    }
    for (let i = 0; i < len; i++) {
      const s = list[i];
      const sid = idAt[s];
      const nat = fill(s, list, i + 1, len);
      for (let j = i + 1; j < len; j++) {
        const t = list[j];
        const d = nat ? distBuf[j - i - 1] : d2(s, t, Math.max(topLimit[s], topLimit[t]));
        topOffer(s, idAt[t], d);
        topOffer(t, sid, d);
      }
    }
  }
  for (let slot = 0; slot < N; slot++) topFinish(slot);

  /**
   * The same initial candidates for one label from the BLAS kernel's candidate sets: each set holds every slot whose
   * exact distance can be among the K nearest (knncand's margin), so offering their exact distances (the native
   * sums, as above) keeps the same K nearest and the same radius as offering every pair, in O(n^2 d) sgemm work
   * instead of n^2 / 2 exact sums and twice as many offers.
   */
  function initialFromCandidates(rows: Int32Array, kernel: NonNullable<typeof knn>): void {
    const C = 4 * K;
    const outSlots = new Int32Array(rows.length * C);
    const outCount = new Int32Array(rows.length);
    kernel(cen, dim, rows, K, C, outSlots, outCount);
    for (let i = 0; i < rows.length; i++) {
      const s = rows[i];
      const count = outCount[i];
      const cands = count >= 0 ? outSlots.subarray(i * C, i * C + count) : rows;
      const m = cands.length;
      if (distBuf.length < m) distBuf = new Float64Array(m);
      native!.sqdists(cen, dim, s, cands, 0, m, distBuf);
      for (let j = 0; j < m; j++) if (cands[j] !== s) topOffer(s, idAt[cands[j]], distBuf[j]);
    }
  }

  const merges: MergeRecord[] = [];
  for (;;) {
    const top = heap.pop();
    if (!top) break;
    const id = top.id;
    const slot = slotOf.get(id);
    if (slot === undefined || version[slot] !== top.ver) continue; // merged away or outdated entry
    const partner = nnId[slot];
    if (partner === -2) continue;
    const pslot = partner >= 0 ? slotOf.get(partner) : undefined;
    if (pslot === undefined) {
      recompute(slot);
      continue;
    }
    const a = clusterAt[slot];
    const b = clusterAt[pslot];
    const [lo, hi] = a.id < b.id ? [a, b] : [b, a];
    const members = new Int32Array(lo.members.length + hi.members.length);
    members.set(lo.members, 0);
    members.set(hi.members, lo.members.length);
    const merged: AggCluster = { id: nextId, label: a.label, members };
    if (opts.allow && !opts.allow(lo, hi, merged)) {
      let ra = rejected.get(a.id);
      if (!ra) rejected.set(a.id, (ra = new Set()));
      ra.add(b.id);
      let rb = rejected.get(b.id);
      if (!rb) rejected.set(b.id, (rb = new Set()));
      rb.add(a.id);
      recompute(slot);
      if (nnId[pslot] === a.id) nnId[pslot] = -1; // its key stays a valid lower bound
      continue;
    }
    nextId++;
    const na = a.members.length;
    const nb = b.members.length;
    // The merged cluster takes slot `slot` (a's); b's slot is freed.
    const oa = slot * dim;
    const ob = pslot * dim;
    for (let k = 0; k < dim; k++) cen[oa + k] = (cen[oa + k] * na + cen[ob + k] * nb) / (na + nb);
    const rec: MergeRecord = { a: lo.id, b: hi.id, id: merged.id, distance: Math.sqrt(top.key), label: a.label };
    merges.push(rec);
    const li = labelOfSlot[slot];
    removeFromList(slot);
    removeFromList(pslot);
    slotOf.delete(a.id);
    slotOf.delete(b.id);
    // Inherited vetoes: every live cluster that a or b may not merge with may not merge with their union either.
    const rejA = rejected.get(a.id);
    const rejB = rejected.get(b.id);
    rejected.delete(a.id);
    rejected.delete(b.id);
    let rejM: Set<number> | undefined;
    if (opts.inheritVetoes && (rejA || rejB)) {
      rejM = new Set();
      for (const rej of [rejA, rejB]) {
        if (!rej) continue;
        for (const x of rej) {
          if (!slotOf.has(x)) continue; // merged away (the sets are not purged of dead ids)
          rejM.add(x);
          const rx = rejected.get(x)!;
          rx.delete(a.id);
          rx.delete(b.id);
          rx.add(merged.id);
        }
      }
      rejected.set(merged.id, rejM);
    }
    version[pslot]++;
    version[slot]++;
    nnId[pslot] = -2;
    slotOf.set(merged.id, slot);
    clusterAt[slot] = merged;
    idAt[slot] = merged.id;
    const list = lists[li];
    const len = listLen[li];
    topStart(slot);
    if (scan) mirror(slot);
    /** What the merged cluster's distance dx to slot x changes: x's candidates, the merged cluster's K nearest, x's key. */
    const offer = (x: number, dx: number): void => {
      if (dx < radius[x]) addCandidate(x, merged.id, dx);
      topOffer(slot, idAt[x], dx);
      if (dx < mind[x] || nnId[x] === -2) setKey(x, merged.id, dx);
    };
    if (scan && !rejM) {
      // The kernel resets the partners of a and b, and computes the exact distances that can change something in
      // offer (the others would leave every candidate list, key and the merged cluster's K nearest as they are).
      const n = scanNative(slot, list, len, 0, a.id, b.id);
      for (let i = 0; i < n; i++) offer(list[scanPos[i]], scanD[i]);
    } else {
      const nat = fill(slot, list, 0, len);
      for (let t = 0; t < len; t++) {
        const x = list[t];
        const nx = nnId[x];
        if (nx === a.id || nx === b.id) nnId[x] = -1; // key stays a lower bound: recompute when popped
        if (rejM && rejM.has(idAt[x])) continue; // an inherited veto: never a partner of the merged cluster
        // dx matters only if it can be among the merged cluster's K nearest (<= topLimit), lower x's key
        // (< mind[x]) or enter x's candidates (< radius[x]).
        offer(x, nat ? distBuf[t] : d2(slot, x, nnId[x] === -2 ? Infinity : Math.max(topLimit[slot], mind[x], radius[x])));
      }
    }
    addToList(slot, li);
    topFinish(slot);
    opts.onMerge?.(rec, slotOf.size);
  }
  // In the order the clusters came to be: the inputs left, then the merged ones by id.
  const clusters: AggCluster[] = [];
  for (const c of input) {
    const slot = slotOf.get(c.id);
    if (slot !== undefined && clusterAt[slot] === c) clusters.push(clusterAt[slot]);
  }
  for (const rec of merges) {
    const slot = slotOf.get(rec.id);
    if (slot !== undefined && clusterAt[slot].id === rec.id) clusters.push(clusterAt[slot]);
  }
  return { merges, clusters };
}
