import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Adam, clipScale, decaysByName, globalNorm, linearWarmupSchedule } from "../lib/train/optimizer";
import { nativeOptimizer } from "../lib/train/native-optimizer";
import { Rng } from "../lib/util/rng";
import { repoRoot } from "../lib/util/paths";

interface Fixture {
  p0: number[][];
  grads: number[][][];
  peakLr: number;
  totalSteps: number;
  maxNorm: number;
  eps: number;
  runs: Record<string, { weightDecay: number; trace: { lr: number; norm: number; params: number[][] }[] }>;
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(repoRoot(), "test/fixtures/train/adam_torch.json"), "utf8"),
) as Fixture;

// The training loop clips by passing the factor to Adam (one pass over the gradients); torch scales the gradients
// first. Both kernels must agree with it.
const kernelSets = nativeOptimizer() ? ["JavaScript", "native"] : ["JavaScript"];
for (const [name, run] of Object.entries(fixture.runs)) {
  for (const kernels of kernelSets) {
    test(`Adam with schedule and clipping (${kernels} kernels) matches torch.optim.${name === "adam" ? "Adam" : "AdamW"}`, () => {
      const native = kernels === "native" ? nativeOptimizer() : null;
      const params = fixture.p0.map((p) => Float32Array.from(p));
      const adam = new Adam(params.map((p) => p.length), { eps: fixture.eps, weightDecay: run.weightDecay });
      const lrAt = linearWarmupSchedule(fixture.peakLr, fixture.totalSteps, 0.1);
      run.trace.forEach((expected, step) => {
        const grads = fixture.grads[step].map((g) => Float32Array.from(g));
        const norm = globalNorm(grads, native);
        assert.ok(Math.abs(norm - expected.norm) < 1e-5 * expected.norm, `step ${step}: norm ${norm} vs ${expected.norm}`);
        const lr = lrAt(step);
        assert.ok(Math.abs(lr - expected.lr) < 1e-12, `step ${step}: lr ${lr} vs ${expected.lr}`);
        adam.update(params, grads, lr, clipScale(norm, fixture.maxNorm), native);
        expected.params.forEach((p, k) =>
          p.forEach((value, i) =>
            assert.ok(Math.abs(params[k][i] - value) < 1e-6, `step ${step} param ${k}[${i}]: ${params[k][i]} vs torch ${value}`),
          ),
        );
      });
    });
  }
}

test("native optimizer kernels give the JavaScript loops' bits (norm, Adam, AdamW, clipped, untouched weights)", (t) => {
  const native = nativeOptimizer();
  if (!native) return t.skip("native addon not built");
  const rng = new Rng(7);
  const n = 10_007;
  const make = (zeroEvery: number, scale: number) =>
    Float32Array.from({ length: n }, (_, i) => (i % zeroEvery === 0 ? 0 : rng.normal() * scale * (i % 13 === 0 ? 1e-4 : 1)));
  const p0 = [make(1e9, 0.05), make(1e9, 1)];
  const steps = [0, 1, 2, 3].map(() => [make(3, 1e-2), make(5, 3)]); // a third / a fifth of entries never touched
  assert.equal(globalNorm(steps[0], native), globalNorm(steps[0], null));
  for (const wd of [0, 0.01]) {
    const run = (k: typeof native | null) => {
      const params = p0.map((p) => p.slice());
      const adam = new Adam(params.map((p) => p.length), { eps: 1e-6, weightDecay: wd }, [true, false]);
      steps.forEach((g, s) => adam.update(params, g.map((x) => x.slice()), 1e-3 * (s + 1), s % 2 === 0 ? 1 : 0.37, k));
      return [...params, ...adam.m, ...adam.v];
    };
    const js = run(null);
    const nat = run(native);
    js.forEach((a, k) => assert.deepEqual(Buffer.from(nat[k].buffer), Buffer.from(a.buffer), `weight decay ${wd}, array ${k}`));
  }
});

test("Adam's first step moves every touched weight by lr in the direction against the gradient (closed form)", () => {
  // With bias correction, m̂ = g and v̂ = g², so the first update is lr * g / (|g| + eps).
  const p = [Float32Array.from([1, 2, 3, 4])];
  const g = [Float32Array.from([0.5, -2, 0, 1e-3])];
  const adam = new Adam([4], { eps: 1e-8 });
  adam.update(p, g, 0.01);
  const expected = [1 - 0.01 * 0.5 / (0.5 + 1e-8), 2 + 0.01 * 2 / (2 + 1e-8), 3, 4 - 0.01 * 1e-3 / (1e-3 + 1e-8)];
  expected.forEach((e, i) => assert.ok(Math.abs(p[0][i] - e) < 1e-6, `${i}: ${p[0][i]} vs ${e}`));
});

test("Adam without bias correction takes (1 - beta1) sized first steps", () => {
  const p = [Float32Array.from([0])];
  const adam = new Adam([1], { biasCorrection: false, eps: 1e-12 });
  adam.update(p, [Float32Array.from([1])], 1);
  // m = 0.1, v = 0.001: step = 0.1 / sqrt(0.001)
  assert.ok(Math.abs(p[0][0] + 0.1 / Math.sqrt(0.001)) < 1e-5, String(p[0][0]));
});

test("a zero gradient still moves a weight whose moments are not zero (no unsafe skipping)", () => {
  const p = [Float32Array.from([0, 0])];
  const adam = new Adam([2], {});
  adam.update(p, [Float32Array.from([1, 0])], 0.1);
  const afterFirst = p[0][0];
  adam.update(p, [Float32Array.from([0, 0])], 0.1);
  assert.notEqual(p[0][0], afterFirst, "the decayed momentum must keep moving the touched weight");
  assert.equal(p[0][1], 0, "a never-touched weight stays exactly where it is");
});

test("state round trip: restored moments continue the exact same trajectory", () => {
  const mk = () => [Float32Array.from([0.3, -0.2, 0.1])];
  const grads = [[0.1, 0.2, -0.3], [0.4, -0.1, 0.0], [-0.2, 0.3, 0.5], [0.05, 0.05, -0.05]].map((g) => [Float32Array.from(g)]);
  const a = new Adam([3], { weightDecay: 0.1 });
  const pa = mk();
  for (const g of grads) a.update(pa, g, 0.01);
  const b = new Adam([3], { weightDecay: 0.1 });
  const pb = mk();
  for (const g of grads.slice(0, 2)) b.update(pb, g, 0.01);
  const saved = { step: b.step, m: b.m.map((x) => x.slice()), v: b.v.map((x) => x.slice()) };
  const c = new Adam([3], { weightDecay: 0.1 });
  c.setState(saved);
  const pc = [pb[0].slice()];
  for (const g of grads.slice(2)) c.update(pc, g, 0.01);
  assert.deepEqual(Array.from(pc[0]), Array.from(pa[0]));
});

test("linear schedule: warm-up to the peak, then linear decay to zero", () => {
  const lr = linearWarmupSchedule(3e-4, 100, 0.1);
  assert.equal(lr(0), 0);
  assert.ok(Math.abs(lr(5) - 1.5e-4) < 1e-15);
  assert.equal(lr(10), 3e-4);
  assert.ok(Math.abs(lr(55) - 1.5e-4) < 1e-15);
  assert.equal(lr(100), 0);
  const flat = linearWarmupSchedule(1, 4, 0);
  assert.deepEqual([0, 1, 2, 3].map(flat), [1, 0.75, 0.5, 0.25]);
  assert.throws(() => linearWarmupSchedule(0, 10), /lr/);
});

test("clipping scales to the maximum norm only when above it", () => {
  const g = [Float32Array.from([3, 0]), Float32Array.from([4])];
  assert.equal(globalNorm(g), 5);
  assert.equal(clipScale(5, 10), 1);
  const f = clipScale(globalNorm(g), 1);
  assert.ok(Math.abs(globalNorm(g.map((x) => x.map((v) => v * f))) - 1) < 1e-6);
  assert.ok(Math.abs(clipScale(5, 1) - 1 / (5 + 1e-6)) < 1e-15);
});

test("weight decay exclusions follow the AdamW convention", () => {
  assert.equal(decaysByName("encoder.layer.0.attention.self.query.weight"), true);
  assert.equal(decaysByName("encoder.layer.0.attention.self.query.bias"), false);
  assert.equal(decaysByName("embeddings.LayerNorm.weight"), false);
  assert.equal(decaysByName("classifier.weight"), true);
});
