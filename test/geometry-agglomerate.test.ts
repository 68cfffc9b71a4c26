import { test } from "node:test";
import * as assert from "node:assert/strict";
import { agglomerate, AggCluster } from "../lib/geometry/agglomerate";
import { makeMatrix, Matrix } from "../lib/geometry/matrix";
import { loadNativeDist } from "../lib/geometry/native-dist";
import { Rng } from "../lib/util/rng";

/** Textbook centroid linkage per label: every step merges the closest same-label pair (O(n^3), for checking). */
function naive(
  m: Matrix,
  labels: number[],
  allow?: (a: number, b: number) => boolean,
  inherit = false,
): { a: number; b: number; d: number }[] {
  const dim = m.dim;
  type C = { id: number; label: number; n: number; c: Float64Array; pts: Set<number> };
  let cs: C[] = labels.map((l, i) => ({ id: i, label: l, n: 1, c: Float64Array.from(m.data.subarray(i * dim, (i + 1) * dim)), pts: new Set([i]) }));
  const rejected = new Set<string>();
  // With inheritance: the vetoed pairs' point sets; a pair whose parts contain both parts of one of them is out.
  const vetoedSets: [Set<number>, Set<number>][] = [];
  const within = (x: Set<number>, y: Set<number>): boolean => [...x].every((p) => y.has(p));
  const inherited = (x: C, y: C): boolean =>
    inherit && vetoedSets.some(([p, q]) => (within(p, x.pts) && within(q, y.pts)) || (within(p, y.pts) && within(q, x.pts)));
  let next = labels.length;
  const out: { a: number; b: number; d: number }[] = [];
  for (;;) {
    let best: [number, number] | undefined;
    let bestD = Infinity;
    for (let i = 0; i < cs.length; i++) {
      for (let j = i + 1; j < cs.length; j++) {
        if (cs[i].label !== cs[j].label || rejected.has(`${cs[i].id}:${cs[j].id}`) || inherited(cs[i], cs[j])) continue;
        let d = 0;
        for (let k = 0; k < dim; k++) d += (cs[i].c[k] - cs[j].c[k]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = [i, j];
        }
      }
    }
    if (!best) return out;
    const [x, y] = [cs[best[0]], cs[best[1]]];
    const [lo, hi] = x.id < y.id ? [x, y] : [y, x];
    if (allow && !allow(lo.id, hi.id)) {
      rejected.add(`${x.id}:${y.id}`).add(`${y.id}:${x.id}`);
      vetoedSets.push([x.pts, y.pts]);
      continue;
    }
    const c = Float64Array.from(x.c, (v, k) => (v * x.n + y.c[k] * y.n) / (x.n + y.n));
    out.push({ a: lo.id, b: hi.id, d: Math.sqrt(bestD) });
    cs = cs.filter((q) => q !== x && q !== y);
    cs.push({ id: next++, label: x.label, n: x.n + y.n, c, pts: new Set([...x.pts, ...y.pts]) });
  }
}

test("agglomerate: same merge sequence as textbook centroid linkage (with and without vetoes)", () => {
  const rng = new Rng(17);
  const n = 90;
  const dim = 24;
  const m = makeMatrix(n, dim);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const input: AggCluster[] = labels.map((l, i) => ({ id: i, label: l, members: Int32Array.of(i) }));
  // A deterministic veto: forbid merging clusters whose ids sum to a multiple of 7.
  const veto = (a: number, b: number) => (a + b) % 7 !== 0;
  for (const allow of [undefined, veto]) {
    const want = naive(m, labels, allow);
    let vetoes = 0;
    const got = agglomerate(m, input, {
      nextId: n,
      allow: allow ? (a, b) => allow(a.id, b.id) || (vetoes++, false) : undefined,
    }).merges;
    assert.equal(got.length, want.length);
    got.forEach((r, t) => {
      assert.deepEqual([r.a, r.b], [want[t].a, want[t].b], `merge ${t}`);
      assert.ok(Math.abs(r.distance - want[t].d) <= 1e-12 * want[t].d, `merge ${t}: ${r.distance} vs ${want[t].d}`);
    });
    if (allow) assert.ok(vetoes >= 5, `the veto must bite for the test to mean something (${vetoes} vetoes)`);
  }
});

test("agglomerate: candidate lists and the native kernel give the textbook merges on clustered data with ties", () => {
  // Points on a coarse grid (many exactly equal distances) in well separated blobs, so that nearest partners merge
  // away often and the K-candidate lists run out and are rebuilt.
  const rng = new Rng(5);
  const n = 150;
  const dim = 6;
  const m = makeMatrix(n, dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) m.data[i * dim + k] = (i % 5) * 10 + Math.round(rng.normal() * 2) / 2;
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 2);
  const input: AggCluster[] = labels.map((l, i) => ({ id: i, label: l, members: Int32Array.of(i) }));
  const veto = (a: number, b: number) => (a * 3 + b) % 11 !== 0;
  for (const allow of [undefined, veto]) {
    const want = naive(m, labels, allow);
    for (const native of [true, false]) {
      const got = agglomerate(m, input, { nextId: n, native, allow: allow ? (a, b) => allow(a.id, b.id) : undefined }).merges;
      assert.equal(got.length, want.length, `native ${native}`);
      got.forEach((r, t) => {
        assert.deepEqual([r.a, r.b], [want[t].a, want[t].b], `native ${native}, merge ${t}`);
        assert.ok(Math.abs(r.distance - want[t].d) <= 1e-12 * Math.max(1, want[t].d), `merge ${t}: ${r.distance} vs ${want[t].d}`);
      });
    }
  }
});

/** Single points labelled alternately 0 and 1, merged with the veto by the native kernels and by the JS loops: same merges, bit for bit. */
function sameMergesNativeAndJs(m: Matrix, veto: (a: AggCluster, b: AggCluster) => boolean, what: string): void {
  const input: AggCluster[] = Array.from({ length: m.n }, (_, i) => ({ id: i, label: i % 2, members: Int32Array.of(i) }));
  const js = agglomerate(m, input, { nextId: m.n, native: false, allow: veto }).merges;
  const nat = agglomerate(m, input, { nextId: m.n, allow: veto }).merges;
  assert.equal(nat.length, js.length, what);
  nat.forEach((r, t) => assert.deepEqual(r, js[t], `${what}, merge ${t}`));
}

test("agglomerate: the native distance kernel (when built) gives bit-identical merges to the JS loop", () => {
  const rng = new Rng(23);
  const n = 700;
  for (const dim of [32, 7]) {
    const m = makeMatrix(n, dim);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
    sameMergesNativeAndJs(m, (a, b) => (a.id + 2 * b.id) % 13 !== 0, `dim ${dim}`);
  }
});

test("agglomerate inheritVetoes: no pair whose parts contain a vetoed pair's parts is proposed (textbook bookkeeping)", () => {
  // An id-based veto is not monotone, so inheriting it changes the merges: they must be the textbook process's
  // with the inheritance rule written out on point sets.
  const rng = new Rng(31);
  const n = 80;
  const dim = 5;
  const m = makeMatrix(n, dim);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const input: AggCluster[] = labels.map((l, i) => ({ id: i, label: l, members: Int32Array.of(i) }));
  const veto = (a: number, b: number) => (a + 2 * b) % 5 !== 0;
  const want = naive(m, labels, veto, true);
  assert.notDeepEqual(
    want.map((r) => [r.a, r.b]),
    naive(m, labels, veto, false).map((r) => [r.a, r.b]),
    "inheritance must change this non-monotone veto's merges for the test to mean something",
  );
  for (const native of [true, false]) {
    const got = agglomerate(m, input, { nextId: n, native, inheritVetoes: true, allow: (a, b) => veto(a.id, b.id) }).merges;
    assert.equal(got.length, want.length, `native ${native}`);
    got.forEach((r, t) => assert.deepEqual([r.a, r.b], [want[t].a, want[t].b], `native ${native}, merge ${t}`));
  }
});

test("agglomerate inheritVetoes: a monotone veto gives the same merges with fewer proposals", () => {
  // Monotone like DirectProbe's overlap check: a merge is vetoed if it would hold both points of a forbidden pair.
  const rng = new Rng(8);
  const n = 160;
  const dim = 4;
  const m = makeMatrix(n, dim);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const forbidden = new Map<number, number>();
  for (let t = 0; t < 12; t++) {
    const p = rng.int(n);
    const q = (p + 3 * (1 + rng.int(n / 3 - 1))) % n; // same label as p
    forbidden.set(p, q).set(q, p);
  }
  const input: AggCluster[] = labels.map((l, i) => ({ id: i, label: l, members: Int32Array.of(i) }));
  const runs = [false, true].map((inheritVetoes) => {
    let proposals = 0;
    const merges = agglomerate(m, input, {
      nextId: n,
      inheritVetoes,
      allow: (_a, _b, merged) => {
        proposals++;
        const inside = new Set(merged.members);
        return !merged.members.some((p) => forbidden.has(p) && inside.has(forbidden.get(p)!));
      },
    }).merges;
    return { merges, proposals };
  });
  assert.deepEqual(runs[1].merges, runs[0].merges);
  assert.ok(runs[0].merges.length < n - 3, "the veto must bite");
  assert.ok(runs[1].proposals < runs[0].proposals, `proposals ${runs[1].proposals} vs ${runs[0].proposals}`);
});

test("agglomerate: first candidates from the BLAS kernel (labels over 512 clusters) and the float32-estimated scans give bit-identical merges", () => {
  // Offset 1e5: coordinates whose float32 rounding (4e-3) is not small against the distances (about 7).
  for (const offset of [0, 100000]) {
    const rng = new Rng(41);
    const n = 1500;
    const dim = 24;
    const m = makeMatrix(n, dim);
    for (let i = 0; i < m.data.length; i++) m.data[i] = offset + rng.normal();
    // 60 copies of one row: more equal distances than the kernel's candidate room, so its full-scan fallback runs too.
    for (let i = 1; i < 60; i++) m.data.copyWithin(i * 2 * dim, 0, dim);
    sameMergesNativeAndJs(m, (a, b) => (a.id + 3 * b.id) % 17 !== 0, `offset ${offset}`);
  }
});

test("mergescan (native): the rows it leaves out are never among the K nearest, even where float32 rounding is large; in parts on threads too", (t) => {
  // Offset 1e6: float32 rounds the coordinates by up to 0.03, moving distances of about 7 by about 1%. dim 72: the
  // estimate is also tested after 32 and 64 coordinates; 9,000 rows: two parts of the list on threads.
  const native = loadNativeDist();
  if (!native?.mergescan) return t.skip("native distance kernel not built");
  const rng = new Rng(5);
  const K = 12;
  for (const [n, dim, queries] of [
    [3000, 24, 40],
    [9000, 72, 12],
  ]) {
    for (const offset of [0, 1e6]) {
      const cen = Float64Array.from({ length: n * dim }, () => offset + rng.normal());
      const cen32 = Float32Array.from(cen);
      const norms = Float64Array.from({ length: n }, (_, i) => Math.hypot(...cen.subarray(i * dim, (i + 1) * dim)));
      const list = Int32Array.from({ length: n }, (_, i) => i);
      const mark = new Int32Array(n);
      const pos = new Int32Array(n);
      const d = new Float64Array(n);
      let skipped = 0;
      for (let q = 0; q < queries; q++) {
        // The K nearest by exact distance (the kernel's sums are sqdists', checked bit for bit).
        const exact = Array.from({ length: n }, (_, x) => {
          let e = 0;
          let o = 0;
          for (let k = 0; k < dim; k += 2) {
            e += (cen[q * dim + k] - cen[x * dim + k]) ** 2;
            o += (cen[q * dim + k + 1] - cen[x * dim + k + 1]) ** 2;
          }
          return { x, d: e + o };
        }).filter((r) => r.x !== q);
        const want = exact.sort((a, b) => a.d - b.d || a.x - b.x).slice(0, K);
        const outputs: Set<string>[] = [];
        for (const threads of [1, 2]) {
          mark[q] = 1;
          const count: number = native.mergescan(cen, cen32, dim, q, list, n, norms, new Float64Array(n), new Float64Array(n), new Float64Array(n), K, -3, -3, 1, mark, pos, d, threads);
          mark[q] = 0;
          if (threads === 1) skipped += n - 1 - count;
          const rows = Array.from({ length: count }, (_, i) => ({ x: pos[i], d: d[i] }));
          assert.deepEqual(rows.map((r) => r.x), [...rows.map((r) => r.x)].sort((a, b) => a - b), "outputs in list order");
          const got = rows.sort((a, b) => a.d - b.d || a.x - b.x).slice(0, K);
          assert.deepEqual(got, want, `n ${n}, offset ${offset}, row ${q}, ${threads} thread(s)`);
          outputs.push(new Set(Array.from({ length: count }, (_, i) => `${pos[i]}:${d[i]}`)));
        }
        // Parts compute every distance the single loop computes (and maybe a few more).
        for (const r of outputs[0]) assert.ok(outputs[1].has(r), `n ${n}, row ${q}: ${r} missing from the parts' output`);
      }
      assert.ok(skipped > 0.5 * queries * (n - 1), `n ${n}, offset ${offset}: the estimate must rule out most rows (${skipped})`);
    }
  }
});

test("linkLabels: the labels' merge sequences are the same on worker threads as in one thread, ids from each label's first id", async () => {
  const { linkLabels, balance } = await import("../lib/geometry/linkage");
  const rng = new Rng(11);
  const n = 900;
  const dim = 8;
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  const m = makeMatrix(n, dim, data);
  const sizes = [400, 250, 150, 99, 1];
  const jobs = [];
  let p = 0;
  let firstId = n + sizes.length;
  for (const [label, size] of sizes.entries()) {
    jobs.push({ label, members: Int32Array.from({ length: size }, (_, i) => p + i), firstId });
    p += size;
    firstId += size - 1;
  }
  const one = linkLabels(m, jobs, undefined, 1);
  const three = linkLabels(m, jobs, undefined, 3);
  assert.deepEqual(three, one);
  assert.deepEqual(one.map((s) => s.length), [399, 249, 149, 98, 0]);
  // Each label's sequence is agglomerate's on that label alone, with its own first id.
  const alone = agglomerate(m, Array.from(jobs[2].members, (q) => ({ id: q, label: 2, members: Int32Array.of(q) })), { nextId: jobs[2].firstId }).merges;
  assert.deepEqual(one[2], alone);
  assert.equal(one[1][0].id, jobs[1].firstId);
  // The groups cover every label once, the largest labels spread over the groups.
  const groups = balance(jobs, 2);
  assert.deepEqual(groups.flat().map((j) => j.label).sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual(groups.map((g) => g[0].label), [0, 1]);
});
