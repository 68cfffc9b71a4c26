/**
 * The shipped embedded default (models/<name>/): a loadable BERT-tiny-shaped Hugging Face folder whose card tells the
 * truth, and whose MLM head predicts masked words of text it never saw (UD EWT test sentences) far better than the
 * same architecture with random weights.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultModelFolder } from "../lib/reps/encoder";
import { maskedTokenAccuracy } from "../lib/pretrain/mlm-eval";
import { MlmHead } from "../lib/pretrain/mlm";
import { BertModel } from "../lib/model/bert";
import { saveBertModel } from "../lib/model/checkpoint";
import { initBackend } from "../lib/model/backend";
import { loadTask } from "../lib/tasks/load";

const dir = defaultModelFolder();

test("the embedded model: tiny shape, real vocabulary, a card that says what it is", () => {
  assert.ok(dir, "no embedded model under models/ (a folder with config.json)");
  const config = JSON.parse(fs.readFileSync(path.join(dir!, "config.json"), "utf8"));
  assert.equal(config.hidden_size, 128);
  assert.equal(config.num_hidden_layers, 2);
  assert.equal(config.num_attention_heads, 2);
  assert.equal(config.vocab_size, 30522);
  assert.equal(fs.readFileSync(path.join(dir!, "vocab.txt"), "utf8").trimEnd().split("\n").length, 30522);
  const card = fs.readFileSync(path.join(dir!, "README.md"), "utf8");
  assert.match(card, /not Google's BERT-tiny/);
  const info = JSON.parse(fs.readFileSync(path.join(dir!, "pretraining.json"), "utf8"));
  assert.ok(info.tokensSeen >= 20e6, `tokens seen ${info.tokensSeen}: the issue asks for at least 20 million`);
  assert.ok(card.includes(info.tokensSeen.toLocaleString("en-US")), "the card states the tokens seen");
  assert.ok(card.includes(`${(100 * info.heldOut.accuracy).toFixed(2)}%`), "the card states the held-out accuracy");
});

test("the embedded model predicts masked words of unseen text; random weights do not", async () => {
  await initBackend();
  const sentences = loadTask("pos").splits.test.sentences.slice(0, 400).map((w) => w.join(" "));
  const ours = await maskedTokenAccuracy(dir!, sentences, { seqLen: 64, seed: 0 });
  assert.ok(ours.predictions >= 500, `${ours.predictions} predictions`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-random-mlm-"));
  const config = JSON.parse(fs.readFileSync(path.join(dir!, "config.json"), "utf8"));
  const model = BertModel.random(config, 1);
  const head = new MlmHead(model, 2);
  await saveBertModel(model, tmp, { vocabPath: path.join(dir!, "vocab.txt"), extraTensors: await head.toTensors() });
  model.dispose();
  head.dispose();
  const random = await maskedTokenAccuracy(tmp, sentences, { seqLen: 64, seed: 0 });
  assert.equal(random.predictions, ours.predictions, "the same masked positions");
  assert.ok(random.accuracy < 0.01, `random weights: ${random.accuracy}`);
  assert.ok(ours.accuracy >= MIN_ACCURACY, `embedded model: masked-token accuracy ${ours.accuracy} on EWT test text`);
  assert.ok(ours.loss < random.loss - 2, `embedded loss ${ours.loss} vs random ${random.loss}`);
});

/** Measured when the model was committed (see its card and the closing note); a floor well below that figure. */
const MIN_ACCURACY = 0.2;
