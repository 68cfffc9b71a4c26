import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bertRepsEncoder, loadEncoder } from "../lib/reps/encoder";
import { ensureReps, loadLayer, storeStats } from "../lib/reps/store";
import { encodeSentences } from "../lib/model/encode";
import { gridSpec } from "../lib/probe/grid";
import { probeLayer } from "../lib/probe/layer";
import { loadTask } from "../lib/tasks/load";
import { silentSink } from "../lib/util/progress";

test("end to end: the embedded model (the default) on a few hundred PS-fxn examples -> stored layers -> classifier probe", async () => {
  process.env.FTGEO_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-e2e-"));
  const task = loadTask("ps-fxn");
  const handle = await loadEncoder(undefined);
  assert.match(handle.source, /ftgeo-bert-tiny/);
  const encoder = bertRepsEncoder(handle);
  assert.equal(encoder.numLayers, 3);
  const entry = await ensureReps({ encoder, task, split: "train", limit: 200, progress: silentSink() });
  assert.deepEqual(Object.keys(entry.manifest.layers).sort(), ["0", "1", "2"]);
  assert.equal(entry.manifest.n, 200);
  assert.equal(entry.manifest.dim, 128);

  // Stored rows equal the encoder's word vectors computed directly for the example's sentence.
  const d = loadLayer(entry, 2);
  const split = task.splits.train;
  for (const r of [0, 117, 199]) {
    const ex = split.examples[d.index[r]];
    assert.equal(d.labels[r], ex.label);
    const it = encodeSentences(handle.model, handle.tokenizer, [split.sentences[ex.sentence]], { layers: [2], onProgress: silentSink() });
    const v = (await it.next()).value as { words: Float32Array[] };
    const direct = v.words[0].subarray(ex.targets[0] * 128, (ex.targets[0] + 1) * 128);
    const stored = d.data.subarray(r * 128, (r + 1) * 128);
    let maxDiff = 0;
    for (let i = 0; i < 128; i++) maxDiff = Math.max(maxDiff, Math.abs(direct[i] - stored[i]));
    assert.ok(maxDiff < 1e-4, `row ${r}: max difference ${maxDiff}`);
  }

  const extractions = storeStats.extractions;
  const r = await probeLayer({ encoder, task, layer: 0, grid: gridSpec("32x32/1e-4"), gridName: "e2e", seeds: 2, maxIter: 60, limit: 200, progress: silentSink() });
  assert.equal(storeStats.extractions, extractions + 2, "train is read from the store; test and dev are extracted once");
  assert.equal(r.selection, "dev");
  assert.equal(r.seeds.length, 2);
  // Layer 0 holds the adposition's identity, which predicts its function far better than the majority label.
  const counts = new Map<number, number>();
  for (const ex of task.splits.test.examples) counts.set(ex.label, (counts.get(ex.label) ?? 0) + 1);
  const majority = Math.max(...counts.values()) / task.splits.test.examples.length;
  assert.ok(r.mean > majority + 0.1, `probe ${r.mean} vs majority ${majority}`);
  assert.ok(fs.existsSync(r.resultsFile));
});
