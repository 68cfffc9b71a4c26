import { test } from "node:test";
import * as assert from "node:assert/strict";
import { dotRow, extremeProjection, makeMatrix, Matrix, projectRows } from "../lib/geometry/matrix";
import { loadNativeDist, NativeDist } from "../lib/geometry/native-dist";
import { ClusterGeom, ensureRadius, ensureSpread, geomOf, OverlapOracle, sortByGapThenId, SpherePool } from "../lib/geometry/overlap";
import { Rng } from "../lib/util/rng";

/** Points around a few centres per label, with labels interleaved so that some clusters of different labels overlap. */
function points(seed: number, n: number, dim: number, labels: number): { m: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const m = makeMatrix(n, dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % labels;
    for (let k = 0; k < dim; k++) m.data[i * dim + k] = 3 + rng.normal() * 2;
  }
  return { m, y };
}

/** Clusters of 1 to 6 consecutive same-label points. */
function clusters(m: Matrix, y: Int32Array, labels: number, rng: Rng): ClusterGeom[] {
  const byLabel = Array.from({ length: labels }, () => [] as number[]);
  for (let i = 0; i < m.n; i++) byLabel[y[i]].push(i);
  const out: ClusterGeom[] = [];
  for (const list of byLabel) {
    for (let i = 0; i < list.length; ) {
      const size = 1 + rng.int(6);
      out.push(geomOf(m, out.length, y[list[i]], Int32Array.from(list.slice(i, i + size))));
      i += size;
    }
  }
  return out;
}

/** Points, their clusters, all of them in a SpherePool, and each point's cluster id. */
function scene(pointSeed: number, n: number, dim: number, labels: number, clusterSeed: number) {
  const { m, y } = points(pointSeed, n, dim, labels);
  const all = clusters(m, y, labels, new Rng(clusterSeed));
  const pool = new SpherePool(m.dim);
  all.forEach((c) => pool.add(c));
  const owner = new Int32Array(m.n);
  all.forEach((c) => c.members.forEach((p) => (owner[p] = c.id)));
  return { m, all, pool, owner };
}

test("geomOf: a prefix's row sum and a deferred radius give bit-identical geometry", () => {
  const { m } = points(1, 40, 7, 1);
  const rows = Int32Array.from({ length: 40 }, (_, i) => (i * 13) % 40);
  const whole = geomOf(m, 0, 0, rows);
  const head = geomOf(m, 1, 0, rows.slice(0, 17));
  const fromHead = geomOf(m, 2, 0, rows, undefined, { prefix: head, deferRadius: true });
  assert.ok(Number.isNaN(fromHead.radius));
  ensureRadius(m, fromHead);
  assert.deepEqual(Array.from(fromHead.centre), Array.from(whole.centre));
  assert.equal(fromHead.radius, whole.radius);
  assert.throws(() => geomOf(m, 3, 0, rows, undefined, { prefix: geomOf(m, 4, 0, rows.slice(1, 5)) }), /not a prefix/);
});

test("ensureSpread: from two parts (parallel-axis theorem) or by a pass, the sum of squared distances from the centre", () => {
  const { m } = points(4, 300, 7, 1);
  const a = geomOf(m, 0, 0, Int32Array.from({ length: 120 }, (_, i) => i));
  const b = geomOf(m, 1, 0, Int32Array.from({ length: 180 }, (_, i) => 120 + i));
  const all = geomOf(m, 2, 0, Int32Array.from({ length: 300 }, (_, i) => i), [0, 1]);
  // Reference: the plain sum over the points.
  let want = 0;
  for (let p = 0; p < 300; p++) for (let k = 0; k < m.dim; k++) want += (m.data[p * m.dim + k] - all.centre[k]) ** 2;
  const fromParts = ensureSpread(m, all, [a, b]);
  assert.ok(Math.abs(fromParts - want) < 1e-12 * want, `${fromParts} vs ${want}`);
  const byPass = ensureSpread(m, geomOf(m, 3, 0, all.members));
  assert.ok(Math.abs(byPass - want) < 1e-12 * want, `${byPass} vs ${want}`);
  assert.equal(ensureSpread(m, geomOf(m, 4, 0, Int32Array.of(5))), 0);
  assert.equal(ensureSpread(m, all), fromParts, "computed once");
});

test("SpherePool: the flat sphere scan finds the same overlaps and sphere tests as the list of other clusters", () => {
  const { m, all, pool, owner } = scene(2, 120, 5, 3, 3);
  // Removing and re-adding moves clusters between slots; the scan must not depend on slot order.
  for (const c of all.slice(0, 10)) pool.remove(c.id);
  for (const c of all.slice(0, 10)) pool.add(c);
  let overlaps = 0;
  const viaList = new OverlapOracle(m);
  const viaPool = new OverlapOracle(m);
  for (const c of all) {
    const others = all.filter((x) => x.label !== c.label);
    const a = viaList.firstOverlap(c, others, owner, [c.id]);
    const b = viaPool.firstOverlap(c, pool, owner, [c.id]);
    assert.equal(b !== undefined, a !== undefined, `cluster ${c.id}`);
    if (a) overlaps++;
  }
  assert.ok(overlaps > 0 && overlaps < all.length, `expected some but not all clusters to overlap another label, got ${overlaps} of ${all.length}`);
  // Without stored witnesses both scan every other cluster: the same sphere tests with the same outcomes.
  for (const c of all.slice(0, 20)) {
    const list = new OverlapOracle(m);
    const flat = new OverlapOracle(m);
    list.firstOverlap(c, all.filter((x) => x.label !== c.label), owner, [c.id]);
    flat.firstOverlap(c, pool, owner, [c.id]);
    assert.equal(flat.stats.checks, list.stats.checks);
    assert.equal(flat.stats.sphereSkips, list.stats.sphereSkips);
  }
  assert.throws(() => pool.add(all[0]), /already in the pool/);
});

test("SpherePool projection filter: same overlaps and sphere tests as the plain pool, most far spheres ruled out early", () => {
  const { m, all, pool, owner } = scene(6, 200, 6, 3, 7);
  // Orthonormal directions: two axes and a diagonal of the other coordinates (any orthonormal vectors keep the
  // answers; the filter only needs to bite).
  const diag = Float64Array.from({ length: m.dim }, (_, t) => (t === 0 || t === 3 ? 0 : 1 / Math.sqrt(m.dim - 2)));
  const axis = (k: number) => Float64Array.from({ length: m.dim }, (_, t) => (t === k ? 1 : 0));
  const filtered = new SpherePool(m.dim, [axis(0), diag, axis(3)]);
  all.forEach((c) => filtered.add(c));
  for (const c of all.slice(0, 15)) filtered.remove(c.id);
  for (const c of all.slice(0, 15)) filtered.add(c);
  for (const c of all) {
    const plain = new OverlapOracle(m);
    const proj = new OverlapOracle(m);
    const a = plain.firstOverlap(c, pool, owner, [c.id]);
    const b = proj.firstOverlap(c, filtered, owner, [c.id]);
    assert.equal(b?.id, a?.id, `cluster ${c.id}`);
    assert.equal(proj.stats.checks, plain.stats.checks);
    assert.equal(proj.stats.sphereSkips, plain.stats.sphereSkips);
    assert.equal(plain.stats.projectionSkips, 0);
  }
  const total = new OverlapOracle(m);
  for (const c of all) total.firstOverlap(c, filtered, owner, [c.id]);
  assert.ok(total.stats.projectionSkips > 0.2 * total.stats.sphereSkips, `${total.stats.projectionSkips} of ${total.stats.sphereSkips} skips`);
  assert.throws(() => new SpherePool(m.dim, [Float64Array.from(diag, (v) => 2 * v)]), /orthonormal/);
  // Unit but not orthogonal: Bessel's bound would not hold.
  const skew = Float64Array.from(axis(0), (v, t) => (t === 1 ? Math.SQRT1_2 : v * Math.SQRT1_2));
  assert.throws(() => new SpherePool(m.dim, [axis(0), skew]), /orthonormal within 1e-10, but direction 0 \. direction 1/);
});

test("SpherePool blocks: freed slots reused, rebuilt in first-projection order, the same sphere tests and projection skips", () => {
  const { m, all, owner } = scene(9, 2400, 6, 4, 11);
  assert.ok(all.length >= 300, `the scene needs many clusters (has ${all.length})`);
  const diag = Float64Array.from({ length: m.dim }, (_, t) => (t === 0 ? 0 : 1 / Math.sqrt(m.dim - 1)));
  const axis0 = Float64Array.from({ length: m.dim }, (_, t) => (t === 0 ? 1 : 0));
  const pool = new SpherePool(m.dim, [axis0, diag]);
  const plain = new SpherePool(m.dim, [axis0, diag]);
  all.forEach((c) => {
    pool.add(c);
    plain.add(c);
  });
  // The same answers and counts as a pool scanned slot by slot, here one never rebuilt (its scans stay below the
  // rebuild's threshold: a fresh pool for every query).
  const compare = (what: string, queries: ClusterGeom[]) => {
    for (const c of queries) {
      const a = new OverlapOracle(m);
      const b = new OverlapOracle(m);
      const fresh = new SpherePool(m.dim, [axis0, diag]);
      for (const x of all) if (plain.has(x)) fresh.add(x);
      const hitA = a.firstOverlap(c, fresh, owner, [c.id]);
      const hitB = b.firstOverlap(c, pool, owner, [c.id]);
      assert.equal(hitB?.id, hitA?.id, `${what}: cluster ${c.id}`);
      for (const k of ["checks", "sphereSkips", "projectionSkips", "intervalSkips"] as const) assert.equal(b.stats[k], a.stats[k], `${what}: ${k} of cluster ${c.id}`);
    }
  };
  compare("appended", all.slice(0, 20));
  // Removals leave dead slots (skipped, not counted); additions take the last freed slot first.
  const gone = all.filter((_, i) => i % 3 === 0);
  for (const c of gone) {
    pool.remove(c.id);
    plain.remove(c.id);
  }
  assert.equal(pool.live, all.length - gone.length);
  assert.equal(pool.size, all.length);
  compare("with dead slots", all.slice(1, 30));
  for (const c of gone.slice(0, 40)) {
    pool.add(c);
    plain.add(c);
  }
  assert.equal(pool.size, all.length, "freed slots reused");
  compare("slots reused", all.slice(0, 30));
  // Many scans with many clusters appended unsorted and many slots dead: the pool rebuilds itself, dead slots dropped.
  const oracle = new OverlapOracle(m);
  for (let i = 0; i < 70; i++) oracle.firstOverlap(all[i], pool, owner, [all[i].id]);
  assert.equal(pool.size, pool.live, "rebuilt");
  for (let s = 1; s < pool.size; s++) assert.ok(pool.proj[s - 1] <= pool.proj[s], "slots in first-projection order");
  compare("rebuilt", all.slice(0, 40));
  pool.rebuild();
  compare("rebuilt twice", all.slice(40, 60));
  assert.throws(() => pool.remove(gone[100].id), /not in the pool/);
});

test("SpherePool projection filter: spheres that meet by a hair are kept, spheres apart by a hair are skipped", () => {
  // A 3-point cluster (radius r) and single points at distance r (1 -+ 1e-6) from its centre (float32 rows), along
  // the one direction of the filter, so that the projections differ by the full distance.
  const dim = 4;
  const m = makeMatrix(5, dim);
  m.data.set([1, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0]);
  const x = geomOf(m, 0, 0, Int32Array.of(0, 1, 2));
  const u = Float64Array.of(0.6, 0, 0, 0.8);
  const pool = new SpherePool(dim, [u]);
  pool.add(x);
  const owner = Int32Array.of(0, 0, 0, 1, 2);
  // Rows 3 and 4 at distance r (1 -+ 1e-6) from x's centre along `dir`; the first is kept, the second skipped.
  const hair = (dir: Float64Array, id: number) => {
    for (const [row, f] of [
      [3, 1 - 1e-6],
      [4, 1 + 1e-6],
    ] as const) {
      for (let k = 0; k < dim; k++) m.data[row * dim + k] = x.centre[k] + dir[k] * x.radius * f;
    }
    const near = new OverlapOracle(m);
    near.firstOverlap(geomOf(m, id, 1, Int32Array.of(3)), pool, owner, [1]);
    assert.equal(near.stats.sphereSkips, 0, "spheres that meet must reach the hull test");
    const far = new OverlapOracle(m);
    far.firstOverlap(geomOf(m, id + 1, 1, Int32Array.of(4)), pool, owner, [2]);
    assert.equal(far.stats.sphereSkips, 1);
    return far.stats;
  };
  hair(u, 1);
  // The same along the second axis, orthogonal to the filter's direction and in line with the centre: the residual
  // norms outside the direction differ by the full distance, and their term alone decides.
  assert.equal(hair(Float64Array.of(0, 1, 0, 0), 3).projectionSkips, 1, "ruled out by the residual norms' term");
});

test("witnessedMergeOverlap: vetoes only merges that firstOverlap vetoes, and decides most of the witnessed ones", () => {
  const { m, all, pool, owner } = scene(4, 160, 4, 2, 5);
  const oracle = new OverlapOracle(m);
  oracle.register(all);
  const nextId = all.length;
  let witnessed = 0;
  let vetoed = 0;
  // Propose merges of same-label neighbours twice: the overlaps found leave witnesses, which later proposals can use.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i + 1 < all.length; i++) {
      const [a, b] = [all[i], all[i + 1]];
      if (a.label !== b.label) continue;
      const members = new Int32Array(a.members.length + b.members.length);
      members.set(a.members, 0);
      members.set(b.members, a.members.length);
      const fast = oracle.witnessedMergeOverlap(a, b, members, owner, pool);
      const g = geomOf(m, nextId, a.label, members, [a.id, b.id]);
      const hit = oracle.firstOverlap(g, pool, owner, [a.id, b.id]);
      oracle.forget([nextId]);
      if (fast) {
        witnessed++;
        assert.ok(hit, `merge of ${a.id} and ${b.id} witnessed as overlapping, but firstOverlap finds none`);
      }
      if (hit) vetoed++;
    }
  }
  assert.ok(vetoed > 0, "expected some vetoed merges");
  assert.ok(witnessed > 0, "expected the second pass to find witnesses");
});

test("native projection kernels (when built) give bit-identical projections to the JS sums", (t) => {
  const native = loadNativeDist();
  if (!native || typeof native.dotrows !== "function") {
    t.skip("native distance addon not built (npm run build:native)");
    return;
  }
  const rng = new Rng(41);
  for (const dim of [128, 7, 130]) {
    const m = makeMatrix(300, dim);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * 3 + 1;
    const rows = Int32Array.from({ length: 120 }, () => rng.int(m.n));
    const z = Float64Array.from({ length: dim }, () => rng.normal());
    const viaKernel = new Float64Array(rows.length);
    projectRows(m, rows, z, viaKernel);
    // The radius kernel: squared distances from a centre summed in coordinate order, bit for bit (rows 0..k, k
    // not a multiple of four, for the tail).
    for (const k of [rows.length, 7]) {
      let want = 0;
      for (const r of rows.subarray(0, k)) {
        let d2 = 0;
        for (let j = 0; j < dim; j++) d2 += (m.data[r * dim + j] - z[j]) ** 2;
        if (d2 > want) want = d2;
      }
      assert.equal(native.maxsqdist!(m.data, dim, rows.subarray(0, k), z, 0), want, `maxsqdist, dim ${dim}, ${k} rows`);
    }
    // The row-sum kernel (geomOf): each coordinate summed over the rows in order from the given start, bit for bit.
    if (native.addrows) {
      const start = Float64Array.from({ length: dim }, () => rng.normal() * 1e3);
      const want = Float64Array.from(start);
      for (const r of rows) for (let j = 0; j < dim; j++) want[j] += m.data[r * dim + j];
      const got = Float64Array.from(start);
      native.addrows(m.data, dim, rows, got);
      assert.deepEqual(got, want, `addrows, dim ${dim}`);
    }
    rows.forEach((r, i) => assert.equal(viaKernel[i], dotRow(m, r, z), `dim ${dim}, row ${r}`));
    for (const wantMin of [true, false]) {
      // The definition (dotRow's sums), bit for bit, and within rounding of one plain sum per row.
      let want = wantMin ? 0.5 : -0.5;
      let plain = want;
      for (const r of rows) {
        const s = dotRow(m, r, z);
        if (wantMin ? s < want : s > want) want = s;
        let p = 0;
        for (let k = 0; k < dim; k++) p += m.data[r * dim + k] * z[k];
        if (wantMin ? p < plain : p > plain) plain = p;
      }
      const got = extremeProjection(m, rows, z, wantMin, wantMin ? 0.5 : -0.5);
      assert.equal(got, want, `dim ${dim}, ${wantMin ? "min" : "max"}`);
      assert.ok(Math.abs(got - plain) <= 1e-12 * dim * 10, `dim ${dim}: ${got} vs plain sum ${plain}`);
      // With a stop: the extreme of the rows up to the first one that crosses it (the median row's value).
      const sorted = rows.map((r) => dotRow(m, r, z)).sort((p, q) => p - q);
      const stop = sorted[sorted.length >> 1];
      let early = wantMin ? Infinity : -Infinity;
      let crossedAt = -1;
      for (let i = 0; i < rows.length; i++) {
        const v = dotRow(m, rows[i], z);
        if (wantMin ? v < early : v > early) early = v;
        if (wantMin ? early <= stop : early >= stop) {
          crossedAt = i;
          break;
        }
      }
      assert.ok(crossedAt >= 0);
      assert.equal(extremeProjection(m, rows, z, wantMin, wantMin ? Infinity : -Infinity, stop), early, `dim ${dim}, stop`);
    }
  }
});

test("native distance kernels (when built) reject wrong arguments with errors naming the kernel and what was expected", (t) => {
  const native = loadNativeDist();
  if (!native) {
    t.skip("native distance addon not built (npm run build:native)");
    return;
  }
  // Called as JavaScript code that ignores the declared types would call them.
  const loose = native as unknown as Record<string, (...args: unknown[]) => unknown>;
  const data = new Float32Array(12);
  const rows = Int32Array.from([0, 2]);
  const y = new Float64Array(4);
  const out = new Float64Array(2);
  assert.throws(() => loose.dotrows(new Float64Array(12), 4, rows, y, out), {
    name: "TypeError",
    message: /^ftgeo_dist\.dotrows: expected a Float32Array as argument 1 of \(Float32Array, int32, Int32Array, Float64Array, Float64Array\), got a Float64Array$/,
  });
  assert.throws(() => loose.extremedot(data, 4, rows, y, 1, 0, 0), { name: "TypeError", message: /^ftgeo_dist\.extremedot: expected a boolean as argument 5 .*got a number$/ });
  assert.throws(() => loose.sqdists(new Float64Array(8), 2, 0, rows, 0, 2), { message: /^ftgeo_dist\.sqdists: wrong number of arguments: expected 7 .*got 6$/ });
  // Sizes are still checked against the arrays: row 3 of a 3-row matrix does not exist.
  assert.throws(() => native.dotrows(data, 4, Int32Array.from([0, 3]), y, out), { name: "RangeError", message: "ftgeo_dist.dotrows: a row index is outside the matrix" });
  // The same arguments, correct, are accepted (the errors above come from the arguments, not the kernel).
  assert.doesNotThrow(() => native.dotrows(data, 4, rows, y, out));
});

/** The native kernels with a thread count (skips the test without them). */
function threadedNative(t: { skip: (why: string) => void }): (NativeDist & { threads: (n?: number) => number }) | undefined {
  const native = loadNativeDist();
  if (!native || typeof native.threads !== "function") {
    t.skip("native distance addon not built (npm run build:native)");
    return undefined;
  }
  return native as NativeDist & { threads: (n?: number) => number };
}

test("native sphere scan (when built): by blocks, split across threads, the same slots, distances and counts as one loop", (t) => {
  const native = threadedNative(t);
  if (!native) return;
  const rng = new Rng(7);
  const dim = 40; // two blocks of the partial distance
  const nd = 5;
  const size = 50001; // parts of at least 4,096 slots: as many as the threads (and a tail after the groups of four)
  // Spread along the projected axes, less along the others: many spheres are left for the distance to decide.
  // The first axis spread widest, as the pool's first direction is.
  const centres = Float64Array.from({ length: size * dim }, (_, i) => rng.normal() * (i % dim === 0 ? 12 : i % dim < nd ? 4 : 0.5));
  const radii = Float64Array.from({ length: size }, () => Math.abs(rng.normal()));
  // Label -1: dead slots, neither tested nor counted.
  const labels = Int32Array.from({ length: size }, () => (rng.int(10) === 0 ? -1 : rng.int(5)));
  // Slots in the order of their first coordinate (the first direction) for the most part, as a rebuilt pool's are.
  const firstOrder = Array.from({ length: size }, (_, s) => s).sort((x, y) => centres[x * dim] - centres[y * dim] || x - y);
  const sorted = new Float64Array(size * dim);
  firstOrder.forEach((s, t) => sorted.set(centres.subarray(s * dim, (s + 1) * dim), t * dim));
  centres.set(sorted.subarray(0, 40000 * dim)); // the last 10,001 slots stay unsorted
  const proj = new Float64Array(size * nd);
  const norms = new Float64Array(size);
  // The norm outside the directions' span: here of the coordinates after the first nd.
  const resids = new Float64Array(size);
  for (let s = 0; s < size; s++) {
    let n2 = 0;
    for (let k = 0; k < dim; k++) n2 += centres[s * dim + k] ** 2;
    norms[s] = Math.sqrt(n2);
    for (let j = 0; j < nd; j++) proj[j * size + s] = centres[s * dim + j]; // the first axes (orthonormal), direction-major
    let r2 = 0;
    for (let k = nd; k < dim; k++) r2 += centres[s * dim + k] ** 2;
    resids[s] = Math.sqrt(r2);
  }
  // The blocks' bounds, as SpherePool keeps them.
  const B = 64;
  const nb = Math.ceil(size / B);
  const labelCap = 5;
  const bLo = new Float64Array(nb).fill(Infinity);
  const bHi = new Float64Array(nb).fill(-Infinity);
  const bRad = new Float64Array(nb);
  const bNorm = new Float64Array(nb);
  const bLive = new Int32Array(nb);
  const bLabel = new Int32Array(nb * labelCap);
  for (let s = 0; s < size; s++) {
    if (labels[s] < 0) continue;
    const b = Math.floor(s / B);
    bLo[b] = Math.min(bLo[b], proj[s]);
    bHi[b] = Math.max(bHi[b], proj[s]);
    bRad[b] = Math.max(bRad[b], radii[s]);
    bNorm[b] = Math.max(bNorm[b], norms[s]);
    bLive[b]++;
    bLabel[b * labelCap + labels[s]]++;
  }
  const c = Float64Array.from({ length: dim }, (_, k) => rng.normal() * (k < nd ? 1 : 0.5));
  const pc = c.slice(0, nd);
  const nc = Math.sqrt(c.reduce((a, v) => a + v * v, 0));
  const rcRes = Math.sqrt(c.slice(nd).reduce((a, v) => a + v * v, 0));
  // The pool's layout: rows of `stride` values per direction (its capacity), here with room to spare.
  const stride = size + 7;
  const padded = new Float64Array(stride * nd).fill(NaN);
  for (let j = 0; j < nd; j++) padded.set(proj.subarray(j * size, (j + 1) * size), j * stride);
  // The parts' outputs come part after part: compared in slot order.
  const run = (threads: number, p = proj, st = size, lo = bLo) => {
    native.threads(threads);
    const slots = new Int32Array(size);
    const cd2 = new Float64Array(size);
    const counts = new Float64Array(3);
    const n = native.blockscan!(centres, radii, labels, p, norms, size, dim, nd, st, c, 6, 1, pc, nc, slots, cd2, counts, resids, rcRes, lo, bHi, bRad, bNorm, bLive, bLabel, labelCap, B);
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => slots[x] - slots[y]);
    return { slots: order.map((i) => slots[i]), cd2: order.map((i) => cd2[i]), counts: Array.from(counts) };
  };
  const before = native.threads();
  try {
    const one = run(1);
    assert.ok(one.slots.length > 100, `only ${one.slots.length} slots left: the test needs many`);
    for (const threads of [2, 3, 8]) assert.deepEqual(run(threads), one, `${threads} threads`);
    assert.deepEqual(run(2, padded, stride), one, "projection rows longer than the pool");
    // Many calls in a row with changing thread counts, as DirectProbe makes them.
    for (let i = 0; i < 60; i++) assert.deepEqual(run(1 + (i % 3), padded, stride), one, `call ${i}`);
    assert.throws(() => run(2, proj, size - 1), /ftgeo_dist\.blockscan: an array is shorter than size, dim, nd or stride require \(or stride < size\)/);
    assert.throws(() => run(2, proj, size, bLo.subarray(0, nb - 1)), /ftgeo_dist\.blockscan: block a positive multiple of 4, and bLo, bHi, bRad, bNorm, bLive a value per block/);
    // The kernel trusts the bounds: a block whose (here false) range lies far from the query is skipped whole, its
    // live slots of other labels counted as tested and ruled out by the projections.
    const near = one.slots[0];
    const b0 = Math.floor(near / B);
    const moved = Float64Array.from(bLo);
    moved[b0] = pc[0] + 1e6;
    const skipped = run(2, proj, size, moved);
    assert.ok(!skipped.slots.some((s) => Math.floor(s / B) === b0), "the block's slots are left out");
    assert.equal(skipped.counts[0], one.counts[0]);
    const others = bLive[b0] - bLabel[b0 * labelCap + 1];
    const leftOut = one.slots.filter((s) => Math.floor(s / B) === b0).length;
    assert.ok(leftOut > 0);
    assert.equal(skipped.counts[2] + skipped.counts[1] + skipped.slots.length, one.counts[2] + one.counts[1] + one.slots.length);
    assert.ok(skipped.counts[2] - one.counts[2] <= others && skipped.counts[2] > one.counts[2]);
    // And those are the slots of another label whose spheres come within reach (checked by brute force).
    const want: number[] = [];
    for (let s = 0; s < size; s++) {
      if (labels[s] === 1 || labels[s] < 0) continue;
      let d2 = 0;
      for (let k = 0; k < dim; k++) d2 += (c[k] - centres[s * dim + k]) ** 2;
      if (Math.sqrt(d2) <= 6 + radii[s]) want.push(s);
    }
    assert.deepEqual(one.slots, want);
    // The one-slot loop of overlap.ts (projection filter, then partial distances in blocks of 32): the same slots,
    // the same doubles and the same counts.
    const loop = { slots: [] as number[], cd2: [] as number[], counts: [0, 0, 0] };
    for (let s = 0; s < size; s++) {
      if (labels[s] === 1 || labels[s] < 0) continue;
      loop.counts[0]++;
      const reach = 6 + radii[s];
      const enough = reach * reach * (1 + 1e-7);
      const delta = 1e-12 * (nc + norms[s]);
      let low2 = 0;
      for (let j = 0; j < nd && low2 <= enough; j++) {
        const u = Math.abs(pc[j] - proj[j * size + s]) - delta;
        if (u > 0) low2 += u * u;
      }
      if (low2 <= enough) {
        const u = Math.abs(rcRes - resids[s]) - 1e-10 * (nc + norms[s]);
        if (u > 0) low2 += u * u;
      }
      if (low2 > enough) {
        loop.counts[2]++;
        continue;
      }
      const limit = reach * reach * (1 + 1e-9) + 1e-300;
      let d2 = 0;
      let far = false;
      for (let k = 0; k < dim && !far; ) {
        const end = Math.min(k + 32, dim);
        for (; k < end; k++) d2 += (c[k] - centres[s * dim + k]) * (c[k] - centres[s * dim + k]);
        far = d2 > limit;
      }
      if (far) loop.counts[1]++;
      else {
        loop.slots.push(s);
        loop.cd2.push(d2);
      }
    }
    assert.deepEqual(one, loop);
    assert.ok(one.counts[1] > 1000 && one.counts[2] > 1000, `both filters must decide many slots: ${one.counts}`);
    // Most blocks of the sorted part are ruled out by their bounds alone (a block test on each would agree).
    let apart = 0;
    for (let b = 0; b < Math.floor(40000 / B); b++) {
      const gap = Math.max(bLo[b] - pc[0], pc[0] - bHi[b]) - 1e-12 * (nc + bNorm[b]);
      if (gap > 0 && gap * gap > (6 + bRad[b]) ** 2 * (1 + 1e-7)) apart++;
    }
    assert.ok(apart > 150, `only ${apart} blocks apart`);
  } finally {
    native.threads(before);
  }
  assert.throws(() => native.threads(0), /ftgeo_dist\.threads: expected an integer from 1 to 8/);
});

test("native projection kernels (when built): long row lists split across threads give the single loop's values", (t) => {
  const native = threadedNative(t);
  if (!native) return;
  const rng = new Rng(8);
  const dim = 16;
  const m = makeMatrix(3000, dim);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  const rows = Int32Array.from({ length: 10000 }, () => rng.int(m.n)); // four parts of at least 2,048 rows
  const w = Float64Array.from({ length: dim }, () => rng.normal());
  const dots = new Float64Array(rows.length);
  rows.forEach((r, i) => (dots[i] = dotRow(m, r, w)));
  const sorted = Array.from(dots).sort((p, q) => p - q);
  // Stops crossed first in part 0, in a later part, or never; and a start beyond the stop.
  const cases: [boolean, number, number][] = [
    [true, Infinity, sorted[20]],
    [true, Infinity, sorted[1]],
    [true, Infinity, -Infinity],
    [false, -Infinity, sorted[sorted.length - 2]],
    [false, -Infinity, sorted[sorted.length - 30]],
    [true, sorted[0] - 1, sorted[5]],
  ];
  const before = native.threads();
  try {
    const run = (threads: number) => {
      native.threads(threads);
      const out = new Float64Array(rows.length);
      native.dotrows(m.data, dim, rows, w, out);
      return { out: Array.from(out), extremes: cases.map(([wantMin, start, stop]) => native.extremedot(m.data, dim, rows, w, wantMin, start, stop)) };
    };
    const one = run(1);
    assert.deepEqual(one.out, Array.from(dots));
    for (const threads of [2, 3, 8]) assert.deepEqual(run(threads), one, `${threads} threads`);
    // The single loop's definition: the extreme up to the first row that reaches the stop.
    cases.forEach(([wantMin, start, stop], i) => {
      let best = start;
      for (const v of dots) {
        if (wantMin ? v < best : v > best) best = v;
        if (wantMin ? best <= stop : best >= stop) break;
      }
      assert.equal(one.extremes[i], best, `case ${i}`);
    });
  } finally {
    native.threads(before);
  }
});

test("native extremebatch (when built): each vector's extreme is extremeProjection's, at 1-3 threads, with stops and starts", (t) => {
  const native = threadedNative(t);
  if (!native || !native.extremebatch) {
    t.skip("native distance addon without extremebatch (npm run build:native)");
    return;
  }
  const rng = new Rng(19);
  for (const [dim, nRows, k] of [
    [128, 3, 703],
    [7, 40, 90],
    [130, 2100, 5],
  ]) {
    const m = makeMatrix(2500, dim);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * 2 + 0.5;
    const rows = Int32Array.from({ length: nRows }, () => rng.int(m.n));
    const ws = Array.from({ length: k }, () => Float64Array.from({ length: dim }, () => rng.normal()));
    const wantMin = Int32Array.from({ length: k }, () => rng.int(2));
    const starts = new Float64Array(k);
    const stops = new Float64Array(k);
    const want: number[] = [];
    for (let i = 0; i < k; i++) {
      const w = ws[i];
      const dots = Array.from(rows, (r) => dotRow(m, r, w)).sort((p, q) => p - q);
      const lo = wantMin[i] === 1;
      // No stop, a stop some rows in, or a start already past the stop (the loop ends at the first row).
      const kind = i % 3;
      starts[i] = kind === 2 ? (lo ? dots[0] - 1 : dots[dots.length - 1] + 1) : lo ? Infinity : -Infinity;
      stops[i] = kind === 0 ? (lo ? -Infinity : Infinity) : lo ? dots[Math.min(1, dots.length - 1)] : dots[Math.max(0, dots.length - 2)];
      want.push(extremeProjection(m, rows, w, lo, starts[i], stops[i]));
    }
    const before = native.threads();
    try {
      for (const threads of [1, 2, 3]) {
        native.threads(threads);
        const out = new Float64Array(k);
        native.extremebatch(m.data, dim, rows, ws, k, wantMin, starts, stops, out);
        assert.deepEqual(Array.from(out), want, `dim ${dim}, ${nRows} rows, ${k} vectors, ${threads} threads`);
      }
    } finally {
      native.threads(before);
    }
    assert.throws(() => native.extremebatch!(m.data, dim, rows, ws.slice(0, k - 1), k, wantMin, starts, stops, new Float64Array(k)), {
      name: "RangeError",
      message: "ftgeo_dist.extremebatch: ws needs k vectors",
    });
    const short = [...ws.slice(0, k - 1), new Float64Array(dim - 1)];
    assert.throws(() => native.extremebatch!(m.data, dim, rows, short, k, wantMin, starts, stops, new Float64Array(k)), {
      name: "RangeError",
      message: "ftgeo_dist.extremebatch: every vector of ws needs dim values",
    });
    const loose = native.extremebatch as unknown as (...args: unknown[]) => void;
    assert.throws(() => loose(m.data, dim, rows, [...ws.slice(0, k - 1), Array.from(ws[0])], k, wantMin, starts, stops, new Float64Array(k)), {
      name: "TypeError",
      message: "ftgeo_dist.extremebatch: ws must hold Float64Arrays",
    });
  }
});

test("sortByGapThenId: the order Array.prototype.sort gives by (gap, id), with many equal gaps, at every size", () => {
  const rng = new Rng(7);
  for (const n of [0, 1, 2, 15, 16, 17, 100, 1000, 5000]) {
    // Few distinct gaps (ties broken by id) and ids in shuffled order.
    const gaps = Float64Array.from({ length: n }, () => -Math.floor(rng.next() * 20) / 4);
    const ids = Int32Array.from({ length: n }, (_, i) => i * 7 + 3);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const order = Int32Array.from({ length: n + 3 }, (_, i) => i);
    sortByGapThenId(order, n, gaps, ids);
    const expected = Array.from({ length: n }, (_, i) => i).sort((p, q) => gaps[p] - gaps[q] || ids[p] - ids[q]);
    assert.deepEqual(Array.from(order.subarray(0, n)), expected, `n = ${n}`);
    assert.deepEqual(Array.from(order.subarray(n)), [n, n + 1, n + 2], "entries past n untouched");
  }
});
