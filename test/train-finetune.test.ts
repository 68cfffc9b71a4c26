import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { repoRoot } from "../lib/util/paths";
import { listSnapshots, latestResumable, readManifest } from "../lib/train/snapshots";
import { readSafetensors } from "../lib/model/safetensors";
import { loadBertModel } from "../lib/model/checkpoint";
import { finetune, readHeadInfo } from "../lib/train/finetune";
import { silentSink } from "../lib/util/progress";

const root = repoRoot();
const cli = path.join(root, "bin", "ftgeo.js");
const tinyBert = path.join(root, "test", "fixtures", "tiny-bert");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-ft-"));
// A 2-layer, 32-wide BERT with a 540-word vocabulary on the first 40 STREUSLE sentences: 2 epochs of 10 updates.
const runArgs = (out: string) => [
  cli, "finetune", "--model", tinyBert, "--task", "ps-role", "--out", out,
  "--limit", "40", "--batch", "4", "--epochs", "2", "--snapshot-every", "3", "--lr", "1e-3", "--seed", "5",
];

function finalTensors(dir: string) {
  const snaps = listSnapshots(dir);
  const last = snaps[snaps.length - 1];
  assert.ok(last.final, `${dir}: the last snapshot (step ${last.step}) is not marked final`);
  return readSafetensors(path.join(last.dir, "model.safetensors")).tensors;
}

test("a run killed mid-way and rerun with the same arguments ends with bit-identical weights", { timeout: 300_000 }, async () => {
  const full = tmp();
  const a = spawnSync(process.execPath, runArgs(full), { encoding: "utf8" });
  assert.equal(a.status, 0, a.stderr);
  const resultA = JSON.parse(a.stdout.trim().split("\n").pop()!);
  assert.equal(resultA.steps, 20);
  assert.ok(resultA.testAccuracy > 0 && resultA.testAccuracy <= 1);

  const broken = tmp();
  const child = spawn(process.execPath, runArgs(broken), { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Kill hard (no chance to clean up) once the run has written a snapshot past its start.
  let killedAt = -1;
  while (killedAt < 0) {
    await new Promise((r) => setTimeout(r, 50));
    const s = latestResumable(broken);
    if (s && s.step >= 6) {
      child.kill("SIGKILL");
      killedAt = s.step;
    }
    if (child.exitCode !== null) break;
  }
  await exited;
  assert.ok(killedAt >= 6 && killedAt < 20, `the run should be killed mid-way, got snapshot ${killedAt}`);

  const b = spawnSync(process.execPath, runArgs(broken), { encoding: "utf8" });
  assert.equal(b.status, 0, b.stderr);
  const resultB = JSON.parse(b.stdout.trim().split("\n").pop()!);
  assert.ok(resultB.resumedFrom >= killedAt, `resumed from ${resultB.resumedFrom}, killed after ${killedAt}`);
  assert.match(b.stderr, /resuming/);

  const ta = finalTensors(full);
  const tb = finalTensors(broken);
  assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort());
  for (const [name, t] of ta) {
    const u = tb.get(name)!;
    assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)), `${name} differs`);
  }
  assert.equal(resultB.testAccuracy, resultA.testAccuracy);
  // The per-epoch evaluations agree too, and the snapshot series is complete.
  assert.deepEqual(readManifest(broken)!.epochs.map((e) => e.metrics), readManifest(full)!.epochs.map((e) => e.metrics));
  assert.deepEqual(listSnapshots(broken).map((s) => s.step), [0, 3, 6, 9, 12, 15, 18, 20]);

  // A snapshot is a Hugging Face model folder plus the head: loadable as an encoder, head weights by name.
  const last = listSnapshots(full).pop()!;
  const loaded = await loadBertModel(last.dir);
  assert.equal(loaded.config.hidden_size, 32);
  loaded.model.dispose();
  const head = readHeadInfo(last.dir)!;
  assert.equal(head.kind, "token");
  assert.deepEqual(ta.get("classifier.weight")!.shape, [head.labels.length, 32]);
});

test("an absurd learning rate stops with a clear message and keeps the last good snapshot", { timeout: 120_000 }, () => {
  const out = tmp();
  const args = runArgs(out).map((a) => (a === "1e-3" ? "1e30" : a));
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /training diverged: the loss is (NaN|Infinity).*last good snapshot is .*step-\d+/);
  assert.equal(readManifest(out)!.status, "diverged");
  const good = latestResumable(out)!;
  for (const [name, t] of readSafetensors(path.join(good.dir, "model.safetensors")).tensors) {
    assert.ok(t.data.every(Number.isFinite), `${name} in the kept snapshot is not finite`);
  }
});

async function variantRun(extra: Record<string, unknown>) {
  const out = tmp();
  await finetune({ model: tinyBert, task: "ps-role", out, limit: 12, batch: 4, maxSteps: 3, lr: 1e-2, snapshotEval: false, progressSink: silentSink(), log: () => {}, ...extra });
  const snaps = listSnapshots(out);
  const before = readSafetensors(path.join(snaps[0].dir, "model.safetensors")).tensors;
  const after = readSafetensors(path.join(snaps[snaps.length - 1].dir, "model.safetensors")).tensors;
  const changed = (name: string) => !Buffer.from(before.get(name)!.data.buffer).equals(Buffer.from(after.get(name)!.data.buffer));
  return { changed, names: [...after.keys()] };
}

test("freezing the embeddings and the first k layers leaves exactly those weights unchanged", { timeout: 120_000 }, async () => {
  const { changed } = await variantRun({ freezeLayers: 1 });
  assert.equal(changed("embeddings.word_embeddings.weight"), false);
  assert.equal(changed("encoder.layer.0.output.dense.weight"), false);
  assert.equal(changed("encoder.layer.1.output.dense.weight"), true);
  assert.equal(changed("classifier.weight"), true);
});

test("adapters: only adapters, LayerNorms and the head train", { timeout: 120_000 }, async () => {
  const { changed, names } = await variantRun({ adapters: 4 });
  assert.ok(names.includes("encoder.layer.1.output.adapter.up.weight"));
  assert.equal(changed("encoder.layer.1.output.adapter.up.weight"), true);
  assert.equal(changed("encoder.layer.0.attention.output.LayerNorm.weight"), true);
  assert.equal(changed("encoder.layer.0.attention.self.query.weight"), false);
  assert.equal(changed("embeddings.word_embeddings.weight"), false);
});

test("feature-based: the encoder stays frozen, the layer mix and head train", { timeout: 120_000 }, async () => {
  const { changed } = await variantRun({ featureBased: true });
  assert.equal(changed("encoder.layer.1.output.dense.weight"), false);
  assert.equal(changed("embeddings.LayerNorm.weight"), false);
  assert.equal(changed("scalar_mix.weights"), true);
  assert.equal(changed("classifier.bias"), true);
});

test("pair (dep: [dependent; head]) and sentence ([CLS], trec50) heads train and snapshot with the right shapes", { timeout: 180_000 }, async () => {
  for (const [task, width] of [["dep", 64], ["trec50", 32]] as const) {
    const out = tmp();
    const r = await finetune({ model: tinyBert, task, out, limit: 8, batch: 4, maxSteps: 2, snapshotEval: false, progressSink: silentSink(), log: () => {} });
    assert.equal(r.steps, 2);
    assert.ok(r.testAccuracy !== null && r.testAccuracy >= 0 && r.testAccuracy <= 1, `${task}: test accuracy ${r.testAccuracy}`);
    const info = readHeadInfo(r.finalModel!)!;
    const w = readSafetensors(path.join(r.finalModel!, "model.safetensors")).tensors.get("classifier.weight")!;
    assert.deepEqual(w.shape, [info.labels.length, width], task);
    const m = readManifest(out)!;
    assert.equal(m.status, "done");
    assert.ok(m.epochs.length === 1 && m.epochs[0].trainLoss! > 0, `${task}: one (partial) epoch logged with its loss`);
  }
});
