import { test } from "node:test";
import * as assert from "node:assert/strict";
import { directProbe } from "../lib/geometry/directprobe";
import { hullDistance } from "../lib/geometry/hull";
import { labelPairDirections, ProjectionIntervals } from "../lib/geometry/intervals";
import { makeMatrix } from "../lib/geometry/matrix";
import { geomOf } from "../lib/geometry/overlap";
import { Rng } from "../lib/util/rng";

function cloud(seed: number, n: number, dim: number, labels: number, spread: number): { m: ReturnType<typeof makeMatrix>; y: Int32Array } {
  const rng = new Rng(seed);
  const means = Array.from({ length: labels }, () => Array.from({ length: dim }, () => rng.normal() * 4));
  const m = makeMatrix(n, dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(labels);
    for (let k = 0; k < dim; k++) m.data[i * dim + k] = means[y[i]][k] + rng.normal() * spread;
  }
  return { m, y };
}

test("intervals: label-pair directions are unit centroid differences; a merge's intervals are its members'", () => {
  const { m, y } = cloud(3, 300, 8, 4, 1);
  const { directions, indexOf } = labelPairDirections(m, y);
  assert.equal(directions.length, 6);
  for (const u of directions) assert.ok(Math.abs(Math.hypot(...u) - 1) < 1e-12);
  assert.equal(indexOf(0, 1), 0);
  assert.equal(indexOf(3, 2), 5);
  assert.equal(indexOf(1, 7), -1);
  const iv = new ProjectionIntervals(m, directions, indexOf, 3);
  const a = geomOf(m, 1000, 0, Int32Array.from({ length: 40 }, (_, i) => i));
  const b = geomOf(m, 1001, 0, Int32Array.from({ length: 30 }, (_, i) => 100 + i));
  const ab = geomOf(m, 1002, 0, Int32Array.from([...a.members, ...b.members]));
  const fromParts = iv.of(ab, [a, b]);
  const fromMembers = iv.of(geomOf(m, 1003, 0, ab.members));
  assert.deepEqual(Array.from(fromParts), Array.from(fromMembers));
  // The interval on direction 0 is the min and max of the projections, summed independently here.
  const proj = Array.from(ab.members, (p) => directions[0].reduce((s, u, k) => s + u * m.data[p * m.dim + k], 0));
  assert.ok(Math.abs(fromParts[0] - Math.min(...proj)) < 1e-9 && Math.abs(fromParts[6] - Math.max(...proj)) < 1e-9);
  assert.throws(() => new ProjectionIntervals(m, [new Float64Array(8).fill(1)]), /not a unit vector/);
  // Capped: the pairs of the most frequent labels stay.
  const counts = [0, 1, 2, 3].map((l) => y.filter((v) => v === l).length);
  const capped = labelPairDirections(m, y, 2);
  assert.equal(capped.directions.length, 2);
  const pairs = [0, 1, 2, 3].flatMap((a) => [0, 1, 2, 3].filter((b) => b > a).map((b) => [a, b]));
  const byWeight = pairs.sort((p, q) => counts[q[0]] * counts[q[1]] - counts[p[0]] * counts[p[1]]);
  assert.equal(capped.indexOf(byWeight[0][0], byWeight[0][1]), 0);
  assert.equal(capped.indexOf(byWeight[1][1], byWeight[1][0]), 1);
  assert.equal(capped.indexOf(byWeight[5][0], byWeight[5][1]), -1);
});

test("intervals: 'apart' only where the exact hull distance exceeds the gap asked for, and often then", () => {
  const { m, y } = cloud(7, 400, 6, 3, 1.5);
  const { directions, indexOf } = labelPairDirections(m, y);
  const iv = new ProjectionIntervals(m, directions, indexOf, 2);
  const rng = new Rng(9);
  let apart = 0;
  for (let t = 0; t < 60; t++) {
    const pick = (label: number, k: number): Int32Array => {
      const pool = Array.from({ length: m.n }, (_, i) => i).filter((i) => y[i] === label);
      return Int32Array.from(rng.shuffle(pool).slice(0, k)).sort();
    };
    const a = geomOf(m, 2000 + 2 * t, 0, pick(0, 3 + rng.int(20)));
    const b = geomOf(m, 2001 + 2 * t, 1 + rng.int(2), pick(1 + rng.int(2), 3 + rng.int(20)));
    const exact = hullDistance({ m, rows: a.members }, { m, rows: b.members }, { goal: "distance" });
    const gap = 0.05 + rng.next() * 2;
    if (iv.apart(a, b, iv.of(a), iv.of(b), gap)) {
      apart++;
      assert.equal(exact.status, "separated");
      assert.ok(exact.upper > gap, `pair ${t}: intervals said apart by more than ${gap}, the hulls are ${exact.upper} apart`);
    }
  }
  assert.ok(apart >= 5, `the test needs pairs the intervals decide (${apart})`);
});

test("directprobe: the interval filter changes no cluster", () => {
  for (const [seed, spread] of [
    [11, 8],
    [12, 14],
  ]) {
    const { m, y } = cloud(seed, 500, 10, 5, spread);
    const withIv = directProbe(m, y);
    const without = directProbe(m, y, { intervals: false });
    assert.ok(withIv.numClusters > 5, "a non-linear layout");
    assert.ok(withIv.stats.intervalSkips > 0, "the filter must decide pairs for the test to mean something");
    assert.deepEqual(
      withIv.clusters.map((c) => Array.from(c.members)),
      without.clusters.map((c) => Array.from(c.members)),
    );
    assert.equal(without.stats.intervalSkips, 0);
  }
});
