/**
 * Encoders for the representation store, from a model specification:
 * - a folder (Hugging Face layout) or a hub id: the checkpoint's weights, keyed by their content hash;
 * - "random:<shape>[:<seed>]" (tiny, mini, small, medium, base): a randomly initialised BERT with a fixed seed,
 *   the paper's "random init" baseline, keyed by shape and seed;
 * - nothing: the embedded model under models/ (a folder holding config.json), when it exists.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BertModel } from "../model/bert";
import { loadBertModel } from "../model/checkpoint";
import { BERT_SHAPE_NAMES, bertShape, type BertShapeName } from "../model/config";
import { encodeSentences } from "../model/encode";
import { initBackend } from "../model/backend";
import { BertTokenizer } from "../tokenize/wordpiece";
import { argError } from "../util/errors";
import { modelsDir } from "../util/paths";
import type { RepsEncoder } from "./store";

export interface BertEncoderHandle {
  model: BertModel;
  tokenizer: BertTokenizer;
  /** Content hash / stable identity. */
  id: string;
  /** What the spec resolved to, for reports. */
  source: string;
}

/** The embedded default model: the first folder under models/ holding a config.json (models/vocab is skipped). */
export function defaultModelFolder(): string | undefined {
  const root = modelsDir();
  if (!fs.existsSync(root)) return undefined;
  for (const name of fs.readdirSync(root).sort()) {
    const dir = path.join(root, name);
    if (fs.existsSync(path.join(dir, "config.json"))) return dir;
  }
  return undefined;
}

/** The spec as given, or the embedded model's folder when none is given; an error naming --model when neither exists. */
export function modelSpecOrDefault(spec: string | undefined): string {
  if (spec !== undefined && spec !== "") return spec;
  const dir = defaultModelFolder();
  if (!dir) throw argError("--model", `is required: no embedded model under ${modelsDir()} yet (give a folder, a hub id, or random:tiny)`);
  return dir;
}

/** Load a model from a spec (see the header). */
export async function loadEncoder(spec: string | undefined): Promise<BertEncoderHandle> {
  await initBackend();
  spec = modelSpecOrDefault(spec);
  const m = /^random:([a-z]+)(?::(\d+))?$/.exec(spec);
  if (m) {
    const shape = m[1] as BertShapeName;
    if (!BERT_SHAPE_NAMES.includes(shape)) throw argError("--model", `unknown shape in ${JSON.stringify(spec)}; expected random:<${BERT_SHAPE_NAMES.join("|")}>[:seed]`);
    const seed = m[2] === undefined ? 0 : Number(m[2]);
    const config = bertShape(shape);
    const tokenizer = BertTokenizer.bertBaseUncased();
    // Derived from what determines the weights: the initialiser's version, the config and the seed.
    const id = crypto.createHash("sha256").update(`ftgeo-random-bert-v1\n${JSON.stringify(config)}\nseed ${seed}`).digest("hex");
    return { model: BertModel.random(config, seed), tokenizer, id, source: `random:${shape}:${seed}` };
  }
  const loaded = await loadBertModel(spec);
  const tokenizer = loaded.vocabPath ? BertTokenizer.fromVocabFile(loaded.vocabPath) : BertTokenizer.bertBaseUncased();
  return { model: loaded.model, tokenizer, id: loaded.id, source: loaded.source };
}

/** Adapt a BERT (and its tokenizer) to the store's encoder interface. */
export function bertRepsEncoder(h: BertEncoderHandle, opts: { batchSize?: number } = {}): RepsEncoder {
  return {
    id: h.id,
    numLayers: h.model.config.num_hidden_layers + 1,
    hidden: h.model.config.hidden_size,
    encode: (sentences, layers) =>
      encodeSentences(h.model, h.tokenizer, sentences, { layers, batchSize: opts.batchSize, onProgress: () => {} }),
  };
}
