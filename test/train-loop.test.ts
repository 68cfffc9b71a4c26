import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runTraining, TrainableParameters, LoopOptions, TrainingDiverged } from "../lib/train/loop";
import { listSnapshots, latestResumable, readManifest, OPTIMIZER_FILE } from "../lib/train/snapshots";
import { readSafetensors, writeSafetensors } from "../lib/model/safetensors";
import { linearWarmupSchedule } from "../lib/train/optimizer";
import { Rng } from "../lib/util/rng";
import { silentSink } from "../lib/util/progress";

/** Softmax regression on separable synthetic data: a model small enough to write its gradient by hand. */
function toyProblem(seed: number) {
  const rng = new Rng(seed);
  const n = 60, d = 4, c = 3;
  const centers = Array.from({ length: c }, () => Array.from({ length: d }, () => rng.normal() * 3));
  const ys = Array.from({ length: n }, (_, i) => i % c);
  const xs = ys.map((y) => centers[y].map((m) => m + rng.normal()));
  return { n, d, c, xs, ys };
}

function toyOptions(runDir: string, lr: number, extra: Partial<LoopOptions> = {}): { opts: LoopOptions; params: TrainableParameters } {
  const { n, d, c, xs, ys } = toyProblem(7);
  const batch = 8;
  const stepsPerEpoch = Math.floor(n / batch);
  const W = new Float32Array(d * c);
  const init = new Rng(11);
  for (let i = 0; i < W.length; i++) W[i] = init.normal() * 0.02;
  const b = new Float32Array(c);
  const params: TrainableParameters = { names: ["W", "b"], values: [W, b], decay: [true, false], commit: () => {} };
  const orderOf = (epoch: number) => new Rng(1000 + epoch).permutation(n);
  const opts: LoopOptions = {
    label: "toy",
    runDir,
    config: { lr, seed: 1 },
    params,
    lrAt: linearWarmupSchedule(lr, 3 * stepsPerEpoch, 0.1),
    totalSteps: 3 * stepsPerEpoch,
    stepsPerEpoch,
    snapshotEvery: 5,
    progressSink: silentSink(),
    log: () => {},
    async computeStep(_step, epoch, index) {
      const ids = orderOf(epoch).slice(index * batch, (index + 1) * batch);
      const gW = new Float32Array(d * c);
      const gb = new Float32Array(c);
      let loss = 0;
      for (const i of ids) {
        const z = Array.from({ length: c }, (_, k) => b[k] + xs[i].reduce((s, x, j) => s + x * W[j * c + k], 0));
        const mx = Math.max(...z);
        const e = z.map((v) => Math.exp(v - mx));
        const sum = e.reduce((a, v) => a + v, 0);
        loss += -(z[ys[i]] - mx - Math.log(sum)) / ids.length;
        for (let k = 0; k < c; k++) {
          const dz = (e[k] / sum - (k === ys[i] ? 1 : 0)) / ids.length;
          gb[k] += dz;
          for (let j = 0; j < d; j++) gW[j * c + k] += dz * xs[i][j];
        }
      }
      return { loss, units: ids.length, grads: [gW, gb] };
    },
    async writeModel(dir) {
      writeSafetensors(path.join(dir, "model.safetensors"), new Map([["W", { shape: [d, c], data: W }], ["b", { shape: [c], data: b }]]));
    },
    async loadModel(dir) {
      const t = readSafetensors(path.join(dir, "model.safetensors")).tensors;
      W.set(t.get("W")!.data);
      b.set(t.get("b")!.data);
    },
    async epochMetrics() {
      let right = 0;
      xs.forEach((x, i) => {
        const z = Array.from({ length: c }, (_, k) => b[k] + x.reduce((s, v, j) => s + v * W[j * c + k], 0));
        if (z.indexOf(Math.max(...z)) === ys[i]) right++;
      });
      return { devAccuracy: right / n };
    },
    ...extra,
  };
  return { opts, params };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-loop-"));

test("the loop learns the toy problem and writes snapshots at 0, every N, and the end", async () => {
  const dir = tmp();
  const { opts } = toyOptions(dir, 0.1);
  const r = await runTraining(opts);
  assert.equal(r.steps, 21);
  const snaps = listSnapshots(dir);
  assert.deepEqual(snaps.map((s) => s.step), [0, 5, 10, 15, 20, 21]);
  assert.ok(snaps[snaps.length - 1].final);
  const m = readManifest(dir)!;
  assert.equal(m.epochs.length, 3);
  assert.ok(m.epochs[2].metrics.devAccuracy > 0.9, `accuracy ${m.epochs[2].metrics.devAccuracy}`);
  assert.ok(m.epochs[2].trainLoss! < m.epochs[0].trainLoss!, "loss must fall");
  // Only the latest snapshot keeps optimizer state.
  assert.deepEqual(snaps.filter((s) => fs.existsSync(path.join(s.dir, OPTIMIZER_FILE))).map((s) => s.step), [21]);
  // The epoch-end evaluation at update 14 is not a snapshot step; at 21 it is recorded with the final snapshot.
  assert.equal(snaps[snaps.length - 1].devAccuracy, m.epochs[2].metrics.devAccuracy);
});

test("stopping mid-run and rerunning ends with bit-identical weights", async () => {
  const full = tmp();
  const a = toyOptions(full, 0.1);
  await runTraining(a.opts);

  const broken = tmp();
  let updates = 0;
  const b = toyOptions(broken, 0.1, { shouldStop: () => ++updates === 13 });
  const first = await runTraining(b.opts);
  assert.equal(first.stopped, true);
  // A session that stops writes a snapshot of where it stopped, so no update is lost.
  assert.equal(latestResumable(broken)!.step, 13);
  // A fresh process would start from freshly initialised weights: the loop must load the snapshot.
  const c = toyOptions(broken, 0.1);
  const second = await runTraining(c.opts);
  assert.equal(second.resumedFrom, 13);
  assert.equal(second.sessionSteps, 8);
  assert.deepEqual(Array.from(c.params.values[0]), Array.from(a.params.values[0]));
  assert.deepEqual(Array.from(c.params.values[1]), Array.from(a.params.values[1]));
  assert.deepEqual(readManifest(broken)!.epochs.map((e) => e.metrics), readManifest(full)!.epochs.map((e) => e.metrics));
});

test("a rerun with other options refuses to resume and says which option differs", async () => {
  const dir = tmp();
  let k = 0;
  await runTraining(toyOptions(dir, 0.1, { shouldStop: () => ++k === 6 }).opts);
  await assert.rejects(runTraining(toyOptions(dir, 0.2).opts), /lr: was 0.1, now 0.2/);
});

test("a non-finite loss stops the run with a clear message and keeps the last good snapshot", async () => {
  const dir = tmp();
  const { opts } = toyOptions(dir, 1e38);
  await assert.rejects(runTraining(opts), (e: unknown) => {
    assert.ok(e instanceof TrainingDiverged);
    assert.match((e as Error).message, /diverged: the loss is (NaN|Infinity).*last good snapshot is .*step-\d+/);
    return true;
  });
  const m = readManifest(dir)!;
  assert.equal(m.status, "diverged");
  const last = latestResumable(dir)!;
  const w = readSafetensors(path.join(last.dir, "model.safetensors")).tensors.get("W")!.data;
  assert.ok(w.every(Number.isFinite), "the kept snapshot must hold finite weights");
});
