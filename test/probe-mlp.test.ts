import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as fs from "node:fs";
import { MlpProbe, type Dataset } from "../lib/probe/mlp";
import { readNpyFloat32, readNpyInt32 } from "../lib/reps/npy";
import { repoRoot } from "../lib/util/paths";
import { Rng } from "../lib/util/rng";

function blobs(n: number, dim: number, k: number, spread: number, seed: number, labels?: "random"): Dataset {
  const rng = new Rng(seed);
  const centers = Array.from({ length: k }, (_, c) => Float32Array.from({ length: dim }, (_, j) => (j === c % dim ? 4 : 0) + (c >= dim ? -4 : 0)));
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    for (let j = 0; j < dim; j++) x[i * dim + j] = centers[c][j] + spread * rng.normal();
    y[i] = labels === "random" ? rng.int(k) : c;
  }
  return { x, y, n, dim };
}

test("mlp: linearly separable classes reach ~100% on held-out data", async () => {
  const train = blobs(300, 8, 4, 0.5, 1);
  const test = blobs(300, 8, 4, 0.5, 2);
  const p = await MlpProbe.train(train, 4, { hidden: [32, 32], alpha: 1e-4, seed: 0, maxIter: 60 });
  assert.ok(p.accuracy(test) >= 0.99, `accuracy ${p.accuracy(test)}`);
  // The training loss of sklearn's objective decreases (first vs last epoch).
  assert.ok(p.info.lossCurve[p.info.lossCurve.length - 1] < p.info.lossCurve[0] / 5);
});

test("mlp: labels independent of the features stay at chance on held-out data", async () => {
  const train = blobs(400, 8, 4, 1, 3, "random");
  const test = blobs(1000, 8, 4, 1, 4, "random");
  const p = await MlpProbe.train(train, 4, { hidden: [32, 32], alpha: 1e-4, seed: 0, maxIter: 60 });
  const acc = p.accuracy(test);
  // Chance is 0.25; 1000 test points give a standard error of ~0.014.
  assert.ok(Math.abs(acc - 0.25) < 0.06, `accuracy ${acc}`);
});

test("mlp: XOR is learned by the MLP but not by a linear least-squares classifier", async () => {
  const rng = new Rng(5);
  const make = (n: number): Dataset => {
    const x = new Float32Array(n * 2);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const a = rng.next() * 2 - 1;
      const b = rng.next() * 2 - 1;
      x[2 * i] = a;
      x[2 * i + 1] = b;
      y[i] = a * b > 0 ? 1 : 0;
    }
    return { x, y, n, dim: 2 };
  };
  const train = make(400);
  const test = make(400);
  const p = await MlpProbe.train(train, 2, { hidden: [16, 16], alpha: 1e-5, seed: 1, maxIter: 300, learningRate: 1e-2 });
  assert.ok(p.accuracy(test) > 0.93, `mlp accuracy ${p.accuracy(test)}`);
  // Linear reference: least squares on [x, 1] against +-1 targets, solved through the 3x3 normal equations.
  const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const bv = [0, 0, 0];
  for (let i = 0; i < train.n; i++) {
    const f = [train.x[2 * i], train.x[2 * i + 1], 1];
    const t = train.y[i] ? 1 : -1;
    for (let r = 0; r < 3; r++) {
      bv[r] += f[r] * t;
      for (let c = 0; c < 3; c++) A[r][c] += f[r] * f[c];
    }
  }
  const w = solve3(A, bv);
  let ok = 0;
  for (let i = 0; i < test.n; i++) {
    const s = w[0] * test.x[2 * i] + w[1] * test.x[2 * i + 1] + w[2];
    if ((s > 0 ? 1 : 0) === test.y[i]) ok++;
  }
  assert.ok(ok / test.n < 0.65, `linear accuracy ${ok / test.n}`);
});

function solve3(A: number[][], b: number[]): number[] {
  const det = (m: number[][]) =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(A);
  return [0, 1, 2].map((c) => det(A.map((row, r) => row.map((v, k) => (k === c ? b[r] : v)))) / d);
}

test("mlp: seeded (same seed, same weights) and errors name the argument", async () => {
  const train = blobs(50, 4, 3, 1, 6);
  const a = await MlpProbe.train(train, 3, { hidden: [8, 8], alpha: 1e-3, seed: 7, maxIter: 5 });
  const b = await MlpProbe.train(train, 3, { hidden: [8, 8], alpha: 1e-3, seed: 7, maxIter: 5 });
  const c = await MlpProbe.train(train, 3, { hidden: [8, 8], alpha: 1e-3, seed: 8, maxIter: 5 });
  assert.deepEqual(a.weights(), b.weights());
  assert.notDeepEqual(a.weights(), c.weights());
  await assert.rejects(MlpProbe.train(train, 2, { hidden: [8, 8], alpha: 0, seed: 0 }), /label 2 of row \d+ is outside \[0, 2\)/);
  await assert.rejects(MlpProbe.train(train, 3, { hidden: [0, 8], alpha: 0, seed: 0 }), /argument hidden/);
});

test("mlp: agrees with scikit-learn's MLPClassifier on a fixed problem (committed reference)", async () => {
  const dir = path.join(repoRoot(), "test", "fixtures", "probe");
  const ref = JSON.parse(fs.readFileSync(path.join(dir, "reference.json"), "utf8")) as { settings: { max_iter: number; alpha: number }; mean: number; std: number };
  const load = (s: string): Dataset => {
    const x = readNpyFloat32(path.join(dir, `x_${s}.npy`));
    return { x: x.data, y: readNpyInt32(path.join(dir, `y_${s}.npy`)).data, n: x.shape[0], dim: x.shape[1] };
  };
  const train = load("train");
  const test = load("test");
  const accs: number[] = [];
  for (let seed = 0; seed < 3; seed++) {
    const p = await MlpProbe.train(train, 4, { hidden: [32, 32], alpha: ref.settings.alpha, seed, maxIter: ref.settings.max_iter });
    accs.push(p.accuracy(test));
  }
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  // Different random streams, same model and optimiser: the mean of 3 seeds lies within 3 reference stds (+ 1%).
  assert.ok(Math.abs(mean - ref.mean) <= 3 * ref.std + 0.01, `ours ${mean.toFixed(4)} [${accs}] vs sklearn ${ref.mean.toFixed(4)} +- ${ref.std.toFixed(4)}`);
});
