import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { hullDistance } from "../lib/geometry/hull";
import { hullGapLp, initLp } from "../lib/geometry/lp";
import { fromRows, Matrix } from "../lib/geometry/matrix";
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
