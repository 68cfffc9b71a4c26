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
  /** First id to give merged clusters (default: 1 + the largest input id). */
  nextId?: number;
  /** Called after every accepted merge. */
  onMerge?: (rec: MergeRecord, active: number) => void;
}

/**
 * Merges same-label clusters, closest centroids first, until no allowed pair is left. Returns the merges in
 * order and the final clusters. Input clusters must be label-pure and disjoint.
 */
export function agglomerate(m: Matrix, input: AggCluster[], opts: AgglomerateOptions = {}): { merges: MergeRecord[]; clusters: AggCluster[] } {
  const dim = m.dim;
  const byId = new Map<number, AggCluster>();
  const centroid = new Map<number, Float64Array>();
  const nn = new Map<number, number>(); // nearest valid partner, -1 = must recompute
  const mind = new Map<number, number>(); // squared distance to nn (a lower bound when nn is -1)
  const version = new Map<number, number>();
  const rejected = new Map<number, Set<number>>();
  const activeByLabel = new Map<number, Set<number>>();
  let nextId = opts.nextId ?? 0;
  for (const c of input) {
    if (opts.nextId === undefined) nextId = Math.max(nextId, c.id + 1);
    byId.set(c.id, c);
    const cen = new Float64Array(dim);
    for (let i = 0; i < c.members.length; i++) {
      const off = c.members[i] * dim;
      for (let k = 0; k < dim; k++) cen[k] += m.data[off + k];
    }
    for (let k = 0; k < dim; k++) cen[k] /= c.members.length;
    centroid.set(c.id, cen);
    let set = activeByLabel.get(c.label);
    if (!set) activeByLabel.set(c.label, (set = new Set()));
    set.add(c.id);
  }

  const d2 = (x: Float64Array, y: Float64Array): number => {
    let s0 = 0;
    let s1 = 0;
    let k = 0;
    for (; k + 1 < dim; k += 2) {
      const t0 = x[k] - y[k];
      const t1 = x[k + 1] - y[k + 1];
      s0 += t0 * t0;
      s1 += t1 * t1;
    }
    if (k < dim) s0 += (x[k] - y[k]) ** 2;
    return s0 + s1;
  };

  const heap = new KeyHeap();
  const setKey = (id: number, partner: number, key: number): void => {
    nn.set(id, partner);
    mind.set(id, key);
    const v = (version.get(id) ?? 0) + 1;
    version.set(id, v);
    heap.push(key, id, v);
  };
  const recompute = (id: number): void => {
    const c = byId.get(id)!;
    const cen = centroid.get(id)!;
    const rej = rejected.get(id);
    let best = -1;
    let bestD = Infinity;
    for (const other of activeByLabel.get(c.label)!) {
      if (other === id || (rej && rej.has(other))) continue;
      const d = d2(cen, centroid.get(other)!);
      if (d < bestD || (d === bestD && other < best)) {
        bestD = d;
        best = other;
      }
    }
    if (best < 0) {
      nn.set(id, -2); // no partner left: never popped again
      version.set(id, (version.get(id) ?? 0) + 1);
      return;
    }
    setKey(id, best, bestD);
  };
  for (const c of input) recompute(c.id);

  const merges: MergeRecord[] = [];
  for (;;) {
    const top = heap.pop();
    if (!top) break;
    const id = top.id;
    if (!byId.has(id) || version.get(id) !== top.ver) continue; // merged away or outdated entry
    const partner = nn.get(id)!;
    if (partner === -2) continue;
    if (partner === -1 || !byId.has(partner)) {
      recompute(id);
      continue;
    }
    const a = byId.get(id)!;
    const b = byId.get(partner)!;
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
      recompute(a.id);
      if (nn.get(b.id) === a.id) nn.set(b.id, -1); // its key stays a valid lower bound
      continue;
    }
    nextId++;
    const ca = centroid.get(a.id)!;
    const cb = centroid.get(b.id)!;
    const na = a.members.length;
    const nb = b.members.length;
    const cm = new Float64Array(dim);
    for (let k = 0; k < dim; k++) cm[k] = (ca[k] * na + cb[k] * nb) / (na + nb);
    const rec: MergeRecord = { a: lo.id, b: hi.id, id: merged.id, distance: Math.sqrt(top.key), label: a.label };
    merges.push(rec);
    for (const gone of [a.id, b.id]) {
      byId.delete(gone);
      centroid.delete(gone);
      nn.delete(gone);
      mind.delete(gone);
      rejected.delete(gone);
      activeByLabel.get(a.label)!.delete(gone);
    }
    byId.set(merged.id, merged);
    centroid.set(merged.id, cm);
    const peers = activeByLabel.get(a.label)!;
    let best = -1;
    let bestD = Infinity;
    for (const x of peers) {
      const dx = d2(cm, centroid.get(x)!);
      if (dx < bestD || (dx === bestD && x < best)) {
        bestD = dx;
        best = x;
      }
      const nx = nn.get(x)!;
      if (nx === a.id || nx === b.id) nn.set(x, -1); // key stays a lower bound: recompute when popped
      if (dx < mind.get(x)! || nx === -2) setKey(x, merged.id, dx);
    }
    peers.add(merged.id);
    if (best >= 0) setKey(merged.id, best, bestD);
    else nn.set(merged.id, -2);
    opts.onMerge?.(rec, byId.size);
  }
  return { merges, clusters: [...byId.values()] };
}
