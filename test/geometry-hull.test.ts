import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { corralHullDistance, smallest } from "../lib/geometry/corral";
import { hullDistance } from "../lib/geometry/hull";
import { hullGapLp, initLp } from "../lib/geometry/lp";
import { fromRows, Matrix } from "../lib/geometry/matrix";
import { loadNativeDist } from "../lib/geometry/native-dist";
import { Rng } from "../lib/util/rng";
import { repoRoot } from "../lib/util/paths";

const fixtures = path.join(repoRoot(), "test", "fixtures", "geometry");

function sets(A: number[][], B: number[][]): { m: Matrix; a: number[]; b: number[] } {
  const m = fromRows([...A, ...B]);
  return { m, a: A.map((_, i) => i), b: B.map((_, j) => A.length + j) };
}

function dist(A: number[][], B: number[][], goal: "distance" | "separable" = "distance") {
  const { m, a, b } = sets(A, B);
  return hullDistance({ m, rows: a }, { m, rows: b }, { goal, relTol: 1e-7 });
}

test("hull distance: two points is their Euclidean distance", () => {
  const r = dist([[1, 2, 3]], [[4, 6, 3]]);
  assert.equal(r.status, "separated");
  assert.ok(Math.abs(r.upper - 5) < 1e-9 && Math.abs(r.lower - 5) < 1e-6, `${r.lower} ${r.upper}`);
});

test("hull distance: point against a segment (closed form, interior and endpoint cases)", () => {
  // Segment from (0,0) to (4,0): point (1,3) projects inside (distance 3); point (7,4) is nearest to (4,0) (distance 5).
  for (const [p, want] of [
    [[1, 3], 3],
    [[7, 4], 5],
  ] as const) {
    const r = dist([[0, 0], [2, 0], [4, 0]], [p as unknown as number[]]);
    assert.equal(r.status, "separated");
    assert.ok(r.lower <= want + 1e-9 && r.upper >= want - 1e-9, `interval [${r.lower}, ${r.upper}] must contain ${want}`);
    assert.ok((r.upper - r.lower) / want < 1e-6);
  }
});

test("hull distance: planted margin in 768 dimensions is found to 1e-3 relative", () => {
  // A lies in {x.u >= 1} and contains u; B lies in {x.u <= -1} and contains -u: the distance is exactly 2.
  const rng = new Rng(7);
  const dim = 768;
  const u = new Float64Array(dim).fill(0);
  const axis = 5;
  u[axis] = 1;
  const mk = (sign: number): number[][] =>
    Array.from({ length: 120 }, (_, i) => {
      const x = Array.from({ length: dim }, () => (i === 0 ? 0 : rng.normal()));
      x[axis] = sign * (1 + (i === 0 ? 0 : Math.abs(rng.normal())));
      return x;
    });
  const r = dist(mk(1), mk(-1));
  assert.equal(r.status, "separated");
  assert.ok(r.lower <= 2 + 1e-9 && r.upper >= 2 - 1e-9, `[${r.lower}, ${r.upper}]`);
  assert.ok(Math.abs(r.upper - 2) / 2 < 1e-3, `upper ${r.upper}`);
});

test("hull distance: matches sklearn SVC(kernel=linear, C=1e6) width 2/||w|| on committed fixtures", () => {
  const fx = JSON.parse(fs.readFileSync(path.join(fixtures, "svm.json"), "utf8")) as { cases: { name: string; A: number[][]; B: number[][]; svmWidth: number }[] };
  assert.ok(fx.cases.length >= 4);
  for (const c of fx.cases) {
    const r = dist(c.A, c.B);
    const rel = Math.abs(r.upper - c.svmWidth) / c.svmWidth;
    assert.ok(rel <= 1e-3, `${c.name}: ours ${r.upper} (interval [${r.lower}, ${r.upper}]) vs sklearn ${c.svmWidth}`);
    assert.ok(r.lower <= c.svmWidth * (1 + 1e-6), `${c.name}: certified lower bound ${r.lower} exceeds the SVM width ${c.svmWidth}`);
  }
});

test("hull distance: separation certificate is a real separating hyperplane", () => {
  const rng = new Rng(3);
  const A = Array.from({ length: 50 }, () => [rng.normal() + 3, rng.normal(), rng.normal()]);
  const B = Array.from({ length: 50 }, () => [rng.normal() - 3, rng.normal(), rng.normal()]);
  const r = dist(A, B, "separable");
  assert.equal(r.status, "separated");
  const proj = (x: number[]) => x.reduce((s, v, k) => s + v * r.w[k], 0);
  assert.ok(Math.min(...A.map(proj)) > Math.max(...B.map(proj)));
});

test("hull distance: overlapping sets are reported as overlap (0), also with the LP certificate", async () => {
  await initLp();
  const rng = new Rng(11);
  const A = Array.from({ length: 200 }, () => [rng.normal(), rng.normal(), rng.normal(), rng.normal()]);
  const B = Array.from({ length: 200 }, () => [rng.normal() + 0.5, rng.normal(), rng.normal(), rng.normal()]);
  const { m, a, b } = sets(A, B);
  for (const useLp of [false, true]) {
    const r = hullDistance({ m, rows: a }, { m, rows: b }, { goal: "separable", useLp });
    assert.equal(r.status, "overlap", `useLp=${useLp}`);
    assert.equal(r.lower, 0);
    // The witness: its points' hulls overlap too (checked by the LP directly).
    const w = hullGapLp(m, r.supportA, r.supportB);
    assert.ok(w.gap < 1e-6, `witness gap ${w.gap}`);
  }
});

test("L1-gap LP: crossing segments overlap, parallel ones are apart by at least their distance", async () => {
  await initLp();
  const cross = sets([[0, 0], [2, 2]], [[0, 2], [2, 0]]);
  assert.ok(hullGapLp(cross.m, cross.a, cross.b).gap < 1e-9);
  const apart = sets([[0, 0], [2, 0]], [[0, 3], [2, 3]]);
  const g = hullGapLp(apart.m, apart.a, apart.b).gap;
  assert.ok(Math.abs(g - 3) < 1e-9, `gap ${g}`);
});

test("corral solver: decides every case itself and agrees with the MDM solver (distance) and the LP (overlap or not)", async () => {
  await initLp();
  const rng = new Rng(21);
  let overlaps = 0;
  let separated = 0;
  for (let t = 0; t < 40; t++) {
    const dim = [2, 3, 12, 64, 256][t % 5];
    const nA = 1 + rng.int(150);
    const nB = 1 + rng.int(150);
    const offset = 3 * rng.next();
    const A = Array.from({ length: nA }, () => Array.from({ length: dim }, (_, k) => rng.normal() + (k === 0 ? offset : 0)));
    const B = Array.from({ length: nB }, () => Array.from({ length: dim }, (_, k) => rng.normal() - (k === 0 ? offset : 0)));
    const { m, a, b } = sets(A, B);
    const c = corralHullDistance({ m, rows: a }, { m, rows: b }, { goal: "distance", relTol: 1e-9, zeroTol: 1e-9 });
    assert.notEqual(c.status, "undecided", `case ${t}: ${c.reason}`);
    const lp = hullGapLp(m, a, b);
    assert.equal(c.status === "overlap", lp.gap < 1e-7, `case ${t}: corral ${c.status} (upper ${c.upper}), LP gap ${lp.gap}`);
    if (c.status === "overlap") {
      overlaps++;
      // The support is a witness: the hulls of those few points already overlap.
      assert.ok(hullGapLp(m, c.posA.map((i) => a[i]), c.posB.map((j) => b[j])).gap < 1e-6, `case ${t}: witness`);
    } else {
      separated++;
      const h = hullDistance({ m, rows: a }, { m, rows: b }, { goal: "distance", relTol: 1e-7, solver: "mdm" });
      assert.ok(Math.abs(c.upper - h.upper) <= 1e-5 * h.upper, `case ${t}: corral ${c.upper} vs MDM ${h.upper}`);
      assert.ok(c.lower <= h.upper * (1 + 1e-9) && h.lower <= c.upper * (1 + 1e-9), `case ${t}: intervals must intersect`);
      // The reported hyperplane separates with the reported levels.
      // (The points as stored: float32.)
      const proj = (r: number) => Array.from(m.data.subarray(r * dim, (r + 1) * dim)).reduce((s, v, k) => s + v * c.w[k], 0);
      assert.ok(Math.abs(Math.min(...a.map(proj)) - c.minA) < 1e-9 * (1 + Math.abs(c.minA)));
      assert.ok(Math.abs(Math.max(...b.map(proj)) - c.maxB) < 1e-9 * (1 + Math.abs(c.maxB)));
      assert.ok(c.minA > c.maxB);
      // The nearest points are convex combinations: weights sum to 1 on each side.
      assert.ok(Math.abs(c.weightA.reduce((s, x) => s + x, 0) - 1) < 1e-12 && Math.abs(c.weightB.reduce((s, x) => s + x, 0) - 1) < 1e-12);
    }
  }
  assert.ok(overlaps >= 5 && separated >= 5, `both outcomes must occur (${overlaps} overlaps, ${separated} separated)`);
});

test("corral solver: closed forms (point to a triangle's interior, edge and vertex; two skew segments)", () => {
  // Triangle (0,0,0), (4,0,0), (0,4,0); the point (1,1,3) is nearest to its interior point (1,1,0): distance 3.
  // (5,5,0) is nearest to the edge point (2,2,0): distance sqrt(18). (-3,-4,0) is nearest to the vertex: 5.
  const tri = [[0, 0, 0], [4, 0, 0], [0, 4, 0]];
  for (const [p, want] of [[[1, 1, 3], 3], [[5, 5, 0], Math.sqrt(18)], [[-3, -4, 0], 5]] as [number[], number][]) {
    const { m, a, b } = sets(tri, [p]);
    const c = corralHullDistance({ m, rows: a }, { m, rows: b }, { goal: "distance", relTol: 1e-12, zeroTol: 1e-12 });
    assert.equal(c.status, "separated");
    assert.ok(Math.abs(c.upper - want) < 1e-9 && Math.abs(c.lower - want) < 1e-9, `${p}: [${c.lower}, ${c.upper}] vs ${want}`);
  }
  // Segment x-axis at z=0 and segment y-axis at z=2 (both through the origin's column): distance 2.
  const s = sets([[-1, 0, 0], [1, 0, 0]], [[0, -1, 2], [0, 1, 2]]);
  const c = corralHullDistance({ m: s.m, rows: s.a }, { m: s.m, rows: s.b }, { goal: "distance", relTol: 1e-12, zeroTol: 1e-12 });
  assert.ok(Math.abs(c.upper - 2) < 1e-12, `${c.upper}`);
  // Crossing segments in the plane overlap: the corral reaches z = 0 exactly (affinely dependent 2 + 2 points).
  const x = sets([[0, 0], [2, 2]], [[0, 2], [2, 0]]);
  const o = corralHullDistance({ m: x.m, rows: x.a }, { m: x.m, rows: x.b }, { goal: "separable", relTol: 1e-4, zeroTol: 1e-12 });
  assert.equal(o.status, "overlap");
  assert.ok(o.upper < 1e-12);
});

test("corral solver: a warm start from a subset's nearest points gives the same distance", () => {
  const rng = new Rng(5);
  const dim = 40;
  const A = Array.from({ length: 120 }, () => Array.from({ length: dim }, (_, k) => rng.normal() + (k === 0 ? 3 : 0)));
  const B = Array.from({ length: 90 }, () => Array.from({ length: dim }, (_, k) => rng.normal() - (k === 0 ? 3 : 0)));
  const { m, a, b } = sets(A, B);
  const half = a.slice(0, 60);
  const sub = corralHullDistance({ m, rows: half }, { m, rows: b }, { goal: "distance", relTol: 1e-10, zeroTol: 1e-9 });
  const cold = corralHullDistance({ m, rows: a }, { m, rows: b }, { goal: "distance", relTol: 1e-10, zeroTol: 1e-9 });
  const warm = corralHullDistance({ m, rows: a }, { m, rows: b }, {
    goal: "distance",
    relTol: 1e-10,
    zeroTol: 1e-9,
    warm: { posA: sub.posA, weightA: sub.weightA, posB: sub.posB, weightB: sub.weightB },
  });
  assert.equal(cold.status, "separated");
  assert.ok(sub.upper >= cold.upper - 1e-12, "a subset is never closer");
  assert.ok(Math.abs(warm.upper - cold.upper) < 1e-8 * cold.upper, `warm ${warm.upper} vs cold ${cold.upper}`);
});

test("corral solver: the lift from the sets' spreads (no pass over the points) gives the same distance", () => {
  const rng = new Rng(8);
  const dim = 30;
  const A = Array.from({ length: 150 }, () => Array.from({ length: dim }, (_, k) => 5 + rng.normal() + (k === 0 ? 2.5 : 0)));
  const B = Array.from({ length: 70 }, () => Array.from({ length: dim }, (_, k) => 5 + rng.normal() - (k === 0 ? 2.5 : 0)));
  const { m, a, b } = sets(A, B);
  // Centroids and spreads by plain sums (the reference the solver's own pass would compute).
  const stats = (rows: number[][]) => {
    const c = new Float64Array(dim);
    for (const r of rows) r.forEach((v, k) => (c[k] += Math.fround(v) / rows.length));
    let s = 0;
    for (const r of rows) r.forEach((v, k) => (s += (Math.fround(v) - c[k]) ** 2));
    return { c, s };
  };
  const sa = stats(A);
  const sb = stats(B);
  const base = { goal: "distance" as const, relTol: 1e-10, zeroTol: 1e-9, centreA: sa.c, centreB: sb.c };
  const pass = corralHullDistance({ m, rows: a }, { m, rows: b }, base);
  const spreads = corralHullDistance({ m, rows: a }, { m, rows: b }, { ...base, spreadA: sa.s, spreadB: sb.s });
  assert.equal(pass.status, "separated");
  assert.equal(spreads.status, "separated");
  assert.ok(Math.abs(spreads.upper - pass.upper) < 1e-8 * pass.upper, `${spreads.upper} vs ${pass.upper}`);
});

test("corral solver: the native kernel (when built) gives bit-identical results to the JS loops", (t) => {
  const native = loadNativeDist();
  if (!native || typeof native.corraladd !== "function") {
    t.skip("native distance addon not built (npm run build:native)");
    return;
  }
  const rng = new Rng(77);
  for (let c = 0; c < 12; c++) {
    const dim = [3, 64, 129][c % 3];
    const offset = [0, 0.5, 3][c % 4 === 3 ? 2 : c % 3];
    const A = Array.from({ length: 20 + rng.int(120) }, () => Array.from({ length: dim }, (_, k) => rng.normal() + (k === 0 ? offset : 0)));
    const B = Array.from({ length: 20 + rng.int(120) }, () => Array.from({ length: dim }, (_, k) => rng.normal() - (k === 0 ? offset : 0)));
    const { m, a, b } = sets(A, B);
    for (const goal of ["distance", "separable"] as const) {
      const opts = { goal, relTol: 1e-9, zeroTol: 1e-9 };
      // Int32Array rows, as DirectProbe passes them (the kernels serve typed row lists).
      const [ra, rb] = [Int32Array.from(a), Int32Array.from(b)];
      const js = corralHullDistance({ m, rows: ra }, { m, rows: rb }, { ...opts, native: false });
      const nat = corralHullDistance({ m, rows: ra }, { m, rows: rb }, opts);
      assert.ok(js.major > 2, `case ${c}: the corral must grow for the test to mean something`);
      assert.deepEqual({ ...nat, w: Array.from(nat.w) }, { ...js, w: Array.from(js.w) }, `case ${c}, ${goal}`);
    }
  }
});

test("smallest: the positions a full sort by (sign * value, position) puts first (ties, -0, NaN left out)", () => {
  const rng = new Rng(3);
  for (let t = 0; t < 300; t++) {
    const n = 1 + rng.int(t < 200 ? 60 : 3000);
    const v = Float64Array.from({ length: n }, () => {
      const u = rng.next();
      return u < 0.05 ? NaN : u < 0.2 ? 0 : u < 0.25 ? -0 : Math.round(rng.normal() * 4) / 2;
    });
    const count = 1 + rng.int(t < 200 ? 70 : 64);
    for (const sign of [1, -1]) {
      const expected = Array.from({ length: n }, (_, i) => i)
        .filter((i) => !Number.isNaN(v[i]))
        .sort((a, b) => sign * v[a] - sign * v[b] || a - b)
        .slice(0, count);
      assert.deepEqual(smallest(v, n, count, sign), expected, `case ${t}, sign ${sign}`);
    }
  }
});
