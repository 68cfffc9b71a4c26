/**
 * The tfjs encoder loaded from real checkpoint files reproduces PyTorch: every layer's hidden states of the
 * committed tiny BERT (test/fixtures/tiny-bert, made by scripts/make_tiny_bert_fixture.py, reference computed in
 * float64) within 1e-4 max absolute difference, from model.safetensors, pytorch_model.bin (zip and legacy) and
 * from the f16/bf16 files against the reference for the rounded weights. Runs without Python.
 */
import { test, before } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/model/backend";
import { BertModel } from "../lib/model/bert";
import { loadBertModel, saveBertModel, loadCheckpoint } from "../lib/model/checkpoint";
import { readSafetensors } from "../lib/model/safetensors";

const FIXTURE = path.join(__dirname, "..", "..", "test", "fixtures", "tiny-bert");
const TOL = 1e-4;

interface RefBatch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  hidden_states: string[];
  hidden_states_f16_weights: string[];
  hidden_states_bf16_weights: string[];
  pooler_output: string;
}
const ref = JSON.parse(fs.readFileSync(path.join(FIXTURE, "reference.json"), "utf8")) as { batches: RefBatch[]; num_hidden_layers: number };

const f32 = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Max |a - b| over every layer of every batch, checking shapes on the way. */
async function maxLayerDiff(model: BertModel, which: "hidden_states" | "hidden_states_f16_weights" | "hidden_states_bf16_weights"): Promise<number> {
  let worst = 0;
  for (const b of ref.batches) {
    const ids = tf.tensor2d(b.input_ids, undefined, "int32");
    const mask = tf.tensor2d(b.attention_mask, undefined, "int32");
    const types = tf.tensor2d(b.token_type_ids, undefined, "int32");
    const states = model.forward(ids, mask, { tokenTypeIds: types });
    assert.equal(states.length, ref.num_hidden_layers + 1);
    for (let l = 0; l < states.length; l++) {
      const want = f32(b[which][l]);
      const got = (await states[l].data()) as Float32Array;
      assert.deepEqual(states[l].shape, [b.input_ids.length, b.input_ids[0].length, model.config.hidden_size]);
      assert.equal(got.length, want.length);
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    }
    if (which === "hidden_states") {
      const pooled = model.pool(states[states.length - 1]);
      const want = f32(b.pooler_output);
      const got = (await pooled.data()) as Float32Array;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      pooled.dispose();
    }
    tf.dispose([ids, mask, types, ...states]);
  }
  return worst;
}

before(async () => {
  await initBackend();
});

for (const [label, weights] of [
  ["model.safetensors", "safetensors"],
  ["pytorch_model.bin (torch.save zip)", "bin"],
  ["pytorch_model-legacy.bin (legacy torch.save)", "variants/pytorch_model-legacy.bin"],
] as const) {
  test(`every layer matches PyTorch within ${TOL} when loaded from ${label}`, async (t) => {
    const { model } = await loadBertModel(FIXTURE, { weights });
    const d = await maxLayerDiff(model, "hidden_states");
    model.dispose();
    t.diagnostic(`max abs difference ${d.toExponential(2)}`);
    assert.ok(d <= TOL, `max abs difference ${d} > ${TOL}`);
  });
}

for (const [label, file, which, loose] of [
  ["F16", "variants/model-f16.safetensors", "hidden_states_f16_weights", 0.02],
  ["BF16", "variants/model-bf16.safetensors", "hidden_states_bf16_weights", 0.1],
] as const) {
  test(`${label} safetensors: exact against the reference for the rounded weights, close to the f32 reference`, async (t) => {
    const { model } = await loadBertModel(FIXTURE, { weights: file });
    const exact = await maxLayerDiff(model, which);
    const approx = await maxLayerDiff(model, "hidden_states");
    model.dispose();
    t.diagnostic(`max abs difference ${exact.toExponential(2)} (rounded-weights reference), ${approx.toExponential(2)} (f32 reference)`);
    assert.ok(exact <= TOL, `${label}: max abs difference ${exact} > ${TOL} against the reference for ${label} weights`);
    // rounding the weights moves the outputs visibly but boundedly (unit-variance hidden states)
    assert.ok(approx > TOL && approx <= loose, `${label}: max abs difference ${approx} to the f32 reference, expected in (${TOL}, ${loose}]`);
  });
}

test("save -> load round trip: identical tensors and id; the saved folder is a loadable HF folder", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-save-"));
  const loaded = await loadBertModel(FIXTURE);
  const out = path.join(dir, "model");
  const saved = await saveBertModel(loaded.model, out, { vocabPath: loaded.vocabPath, extraFiles: { "notes.txt": "round trip\n" } });
  assert.deepEqual(fs.readdirSync(out).sort(), ["config.json", "model.safetensors", "notes.txt", "tokenizer_config.json", "vocab.txt"]);
  assert.equal(readSafetensors(path.join(out, "model.safetensors")).metadata.format, "pt");
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(cfg.model_type, "bert");
  assert.deepEqual(cfg.architectures, ["BertModel"]);
  const again = await loadBertModel(out);
  assert.equal(again.id, loaded.id);
  assert.equal(saved.id, loaded.id);
  const a = await loaded.model.toTensors();
  const b = await again.model.toTensors();
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, k);
  assert.ok((await maxLayerDiff(again.model, "hidden_states")) <= TOL);

  // F16: half the size; the returned id is the id of what was written
  const half = path.join(dir, "half");
  const savedHalf = await saveBertModel(loaded.model, half, { vocabPath: loaded.vocabPath, dtype: "F16" });
  const reHalf = await loadBertModel(half);
  assert.equal(reHalf.id, savedHalf.id);
  assert.notEqual(reHalf.id, loaded.id);
  assert.ok(fs.statSync(path.join(half, "model.safetensors")).size < 0.55 * fs.statSync(path.join(out, "model.safetensors")).size);
  assert.ok((await maxLayerDiff(reHalf.model, "hidden_states_f16_weights")) <= TOL);

  // saving over an existing folder replaces it whole
  await saveBertModel(reHalf.model, out, { vocabPath: loaded.vocabPath });
  assert.ok(!fs.existsSync(path.join(out, "notes.txt")));
  assert.equal((await loadCheckpoint(out)).contentHash, savedHalf.id);
  await assert.rejects(saveBertModel(loaded.model, path.join(dir, "novocab")), /needs the vocabulary/);
  assert.ok(!fs.existsSync(path.join(dir, "novocab")));
  for (const m of [loaded.model, again.model, reHalf.model]) m.dispose();
  fs.rmSync(dir, { recursive: true });
});

test("a model with adapters saves and reloads with its adapters (they change the id)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-adapt-"));
  const loaded = await loadBertModel(FIXTURE);
  loaded.model.addAdapters(4, 7);
  const saved = await saveBertModel(loaded.model, dir, { vocabPath: loaded.vocabPath });
  const again = await loadBertModel(dir);
  assert.equal(again.id, saved.id);
  assert.notEqual(again.id, loaded.id);
  const a = await loaded.model.toTensors();
  const b = await again.model.toTensors();
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  assert.ok([...a.keys()].some((k) => k.includes(".adapter.")));
  loaded.model.dispose();
  again.model.dispose();
  fs.rmSync(dir, { recursive: true });
});
