/**
 * Hugging Face model folders: config.json + vocab.txt + weights (model.safetensors, pytorch_model.bin, or their
 * sharded *.index.json forms), loaded from a local folder or by hub id (lib/model/hub.ts), and saved in the same
 * layout (safetensors with {"format": "pt"}) so Python transformers loads what we save.
 *
 * A model's identity (`id`) is a content hash of what determines its representations: the architecture fields
 * of the config, the vocabulary and the encoder tensors as loaded (float32 values). The same weights read from
 * safetensors or from pytorch_model.bin, or saved and reloaded in F32, get the same id.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { FtgeoError, argError, fileError } from "../util/errors";
import { withAtomicDirAsync } from "../util/atomic";
import { BertConfig, validateConfig } from "./config";
import { BertModel, bertParameterShapes } from "./bert";
import { FloatTensorMap, readSafetensors, writeSafetensors, f16ToF32, f32ToF16, bf16ToF32, f32ToBf16 } from "./safetensors";
import { readPytorchBin } from "./pytorch-bin";
import { HubOptions, downloadBertFiles, looksLikeHubId } from "./hub";

export interface CheckpointOptions extends HubOptions {
  /**
   * Which weights to read: "auto" (default: model.safetensors, model.safetensors.index.json, pytorch_model.bin,
   * pytorch_model.bin.index.json, in this order), "safetensors", "bin", or a file name inside the folder.
   */
  weights?: string;
  /** Require vocab.txt (default true): its length must equal config.vocab_size. */
  requireVocab?: boolean;
}

export interface Checkpoint {
  config: BertConfig;
  /**
   * The BertModel tensors (embeddings.*, encoder.*, pooler.*, adapters if any) under Hugging Face BertModel names;
   * shapes checked against the config.
   */
  tensors: FloatTensorMap;
  /** Other float tensors of the file (e.g. pre-training heads cls.*), names as in the file minus "bert.". */
  extra: FloatTensorMap;
  /** Non-float entries that were skipped (e.g. the int64 buffer embeddings.position_ids). */
  skipped: string[];
  vocabPath?: string;
  folder: string;
  weightsFiles: string[];
  /** The folder path, or "hf:<id>@<commit>" for hub models. */
  source: string;
  /** sha256 over architecture config, vocabulary and encoder tensors: see modelContentHash. */
  contentHash: string;
}

/** Config fields that change what the encoder computes; the rest (versions, dropout, labels) do not. */
const ARCH_FIELDS = [
  "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
  "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act", "position_embedding_type",
] as const;

/**
 * Names as transformers' BertModel expects them: task models prefix the encoder with "bert.", and the original
 * Google checkpoints (e.g. bert-base-uncased's pytorch_model.bin) call LayerNorm parameters gamma/beta.
 */
export function normalizeTensorName(name: string): string {
  let n = name.startsWith("bert.") ? name.slice(5) : name;
  if (n.endsWith(".gamma")) n = n.slice(0, -6) + ".weight";
  else if (n.endsWith(".beta")) n = n.slice(0, -5) + ".bias";
  return n;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw fileError(file, undefined, `cannot read ${what}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fileError(file, undefined, `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Number of tokens in a vocab.txt (one per line; a final newline does not start another token). */
export function countVocabLines(file: string): number {
  const text = fs.readFileSync(file, "utf8");
  if (text.length === 0) return 0;
  const lines = text.split("\n");
  return text.endsWith("\n") ? lines.length - 1 : lines.length;
}

function pickWeights(folder: string, choice: string): string[] {
  const has = (f: string) => fs.existsSync(path.join(folder, f));
  const shards = (index: string) => {
    const raw = readJson(path.join(folder, index), "weights index") as { weight_map?: Record<string, string> };
    if (!raw || typeof raw.weight_map !== "object") throw fileError(path.join(folder, index), undefined, `no "weight_map" object`);
    return [...new Set(Object.values(raw.weight_map))].map((f) => path.join(folder, f));
  };
  const st = () => (has("model.safetensors") ? [path.join(folder, "model.safetensors")] : has("model.safetensors.index.json") ? shards("model.safetensors.index.json") : undefined);
  const bin = () => (has("pytorch_model.bin") ? [path.join(folder, "pytorch_model.bin")] : has("pytorch_model.bin.index.json") ? shards("pytorch_model.bin.index.json") : undefined);
  let files: string[] | undefined;
  if (choice === "auto") files = st() ?? bin();
  else if (choice === "safetensors") files = st();
  else if (choice === "bin") files = bin();
  else {
    if (choice.includes("..") || path.isAbsolute(choice)) throw argError("weights", `expected "auto", "safetensors", "bin" or a file name inside ${folder}, got ${choice}`);
    files = has(choice) ? (choice.endsWith(".index.json") ? shards(choice) : [path.join(folder, choice)]) : undefined;
  }
  if (!files) {
    const want = choice === "auto" ? "model.safetensors or pytorch_model.bin (or a sharded *.index.json)" : choice === "safetensors" ? "model.safetensors" : choice === "bin" ? "pytorch_model.bin" : choice;
    throw fileError(folder, undefined, `no weights file: expected ${want} in the folder`);
  }
  return files;
}

function readWeightsFile(file: string): { tensors: FloatTensorMap; skipped: string[] } {
  if (!fs.existsSync(file)) throw fileError(file, undefined, "weights file listed in the index is missing");
  if (file.endsWith(".safetensors")) return readSafetensors(file);
  return readPytorchBin(file);
}

/** Where folderOrId points: an existing folder, else a hub id downloaded into the hub cache. */
async function resolveFolder(folderOrId: string, opts: CheckpointOptions): Promise<{ folder: string; source: string }> {
  if (fs.existsSync(folderOrId)) {
    if (!fs.statSync(folderOrId).isDirectory()) throw argError("model", `${folderOrId} is a file; expected a model folder (config.json, vocab.txt, weights) or a Hugging Face id`);
    return { folder: path.resolve(folderOrId), source: path.resolve(folderOrId) };
  }
  if (!looksLikeHubId(folderOrId)) throw argError("model", `${folderOrId} is neither an existing folder nor a Hugging Face model id (org/name)`);
  const files = await downloadBertFiles(folderOrId, opts);
  return { folder: files.folder, source: `hf:${folderOrId}@${files.commit}` };
}

/** Read and check a model folder (or hub id): config, vocabulary, and every tensor's presence and shape. */
export async function loadCheckpoint(folderOrId: string, opts: CheckpointOptions = {}): Promise<Checkpoint> {
  const { folder, source } = await resolveFolder(folderOrId, opts);
  const configPath = path.join(folder, "config.json");
  if (!fs.existsSync(configPath)) throw fileError(folder, undefined, "not a model folder: config.json is missing");
  const config = validateConfig(readJson(configPath, "config.json"), configPath);

  const vocabCandidate = path.join(folder, "vocab.txt");
  let vocabPath: string | undefined;
  if (fs.existsSync(vocabCandidate)) {
    vocabPath = vocabCandidate;
    const n = countVocabLines(vocabPath);
    if (n !== config.vocab_size) {
      throw fileError(vocabPath, undefined, `${n} tokens, but ${configPath} says vocab_size ${config.vocab_size}: the vocabulary does not belong to this model`);
    }
  } else if (opts.requireVocab ?? true) {
    const hub = source.startsWith("hf:") ? `; ${source} has none, or it was not downloaded into the cache (retry online)` : "";
    throw fileError(folder, undefined, `vocab.txt is missing (the WordPiece vocabulary of the model)${hub}`);
  }

  const weightsFiles = pickWeights(folder, opts.weights ?? "auto");
  const all: FloatTensorMap = new Map();
  const skipped: string[] = [];
  for (const f of weightsFiles) {
    const r = readWeightsFile(f);
    skipped.push(...r.skipped);
    for (const [name, t] of r.tensors) {
      const n = normalizeTensorName(name);
      if (all.has(n)) throw fileError(f, undefined, `tensor "${name}" duplicates another tensor that also maps to "${n}"`);
      all.set(n, t);
    }
  }
  const where = weightsFiles.length === 1 ? weightsFiles[0] : `${folder} (${weightsFiles.map((f) => path.basename(f)).join(", ")})`;
  const expected = bertParameterShapes(config);
  const tensors: FloatTensorMap = new Map();
  const extra: FloatTensorMap = new Map();
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    const t = all.get(name);
    if (!t) {
      // BertForMaskedLM checkpoints have no pooler; BertModel.fromTensors initialises it (hidden states do not use it)
      if (!name.startsWith("pooler.")) missing.push(name);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw fileError(where, undefined, `tensor "${name}" has shape [${t.shape.join(", ")}], but config.json (hidden_size ${config.hidden_size}, intermediate_size ${config.intermediate_size}, vocab_size ${config.vocab_size}) needs [${shape.join(", ")}]`);
    }
    tensors.set(name, t);
  }
  if (missing.length > 0) {
    throw fileError(where, undefined, `${missing.length} tensor(s) of a ${config.num_hidden_layers}-layer BERT are missing: ${missing.slice(0, 6).join(", ")}${missing.length > 6 ? ", ..." : ""}`);
  }
  for (const [name, t] of all) {
    if (expected.has(name)) continue;
    const layer = /^encoder\.layer\.(\d+)\./.exec(name);
    // A checkpoint with more layers than config.json declares is a mismatch, not harmless extra weights.
    if (layer && Number(layer[1]) >= config.num_hidden_layers) {
      throw fileError(where, undefined, `tensor "${name}" is beyond num_hidden_layers ${config.num_hidden_layers} of config.json`);
    }
    // Other encoder tensors (adapters saved by saveBertModel) belong to the model; the rest (task heads) do not.
    if (layer || name.startsWith("embeddings.") || name.startsWith("pooler.")) tensors.set(name, t);
    else extra.set(name, t);
  }
  const contentHash = modelContentHash(config, tensors, vocabPath);
  return { config, tensors, extra, skipped, vocabPath, folder, weightsFiles, source, contentHash };
}

/**
 * The identity of a model's computation: sha256 of the architecture fields of the config, the vocabulary file
 * and, in name order, every encoder tensor's name, shape and float32 bytes. Caches of representations key on it.
 */
export function modelContentHash(config: BertConfig, tensors: FloatTensorMap, vocabPath?: string): string {
  const h = crypto.createHash("sha256");
  h.update("ftgeo-bert-v1\n");
  const arch: Record<string, unknown> = {};
  for (const k of ARCH_FIELDS) arch[k] = (config as Record<string, unknown>)[k] ?? null;
  if (arch.position_embedding_type === null) arch.position_embedding_type = "absolute";
  h.update(JSON.stringify(arch) + "\n");
  h.update(vocabPath ? crypto.createHash("sha256").update(fs.readFileSync(vocabPath)).digest("hex") : "no-vocab");
  h.update("\n");
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name} [${t.shape.join(",")}]\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
}

export interface LoadedBert {
  model: BertModel;
  config: BertConfig;
  vocabPath?: string;
  /** Content hash (see modelContentHash): the key of every cache derived from this model. */
  id: string;
  source: string;
  checkpoint: Checkpoint;
}

export async function loadBertModel(folderOrId: string, opts: CheckpointOptions = {}): Promise<LoadedBert> {
  const ck = await loadCheckpoint(folderOrId, opts);
  const model = BertModel.fromTensors(ck.config, ck.tensors, ck.source);
  return { model, config: ck.config, vocabPath: ck.vocabPath, id: ck.contentHash, source: ck.source, checkpoint: ck };
}

export interface SaveOptions {
  /** Storage dtype of model.safetensors: F32 (default, exact), F16 or BF16. */
  dtype?: "F32" | "F16" | "BF16";
  /** The vocabulary to copy as vocab.txt (required unless extraFiles has "vocab.txt"). */
  vocabPath?: string;
  /** More files to write into the folder (e.g. a training log), name -> content. */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Tensors saved next to the encoder's (e.g. "cls.predictions.bias" of a pre-training head). */
  extraTensors?: FloatTensorMap;
  /** Written to tokenizer_config.json (default true: uncased). */
  doLowerCase?: boolean;
}

/**
 * Write a Hugging Face model folder atomically (the folder appears complete or not at all):
 * config.json, vocab.txt, tokenizer_config.json, model.safetensors. Returns the id loadBertModel will give it.
 */
export async function saveBertModel(model: BertModel, folder: string, opts: SaveOptions = {}): Promise<{ folder: string; id: string }> {
  const dtype = opts.dtype ?? "F32";
  const config = model.config as BertConfig;
  if (!opts.vocabPath && !(opts.extraFiles && "vocab.txt" in opts.extraFiles)) {
    throw argError("vocabPath", "saveBertModel needs the vocabulary (vocabPath or extraFiles['vocab.txt']) to write a loadable model folder");
  }
  if (opts.vocabPath) {
    const n = countVocabLines(opts.vocabPath);
    if (n !== config.vocab_size) throw fileError(opts.vocabPath, undefined, `${n} tokens, but the model's vocab_size is ${config.vocab_size}`);
  }
  const tensors = await model.toTensors();
  const expected = bertParameterShapes(config);
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t || t.shape.join(",") !== shape.join(",")) throw new FtgeoError(`saveBertModel: model tensor "${name}" is ${t ? `[${t.shape}]` : "missing"}, expected [${shape}]`);
  }
  const toSave: FloatTensorMap = new Map(tensors);
  for (const [k, v] of opts.extraTensors ?? new Map()) {
    if (toSave.has(k)) throw argError("extraTensors", `"${k}" collides with a model tensor`);
    toSave.set(k, v);
  }
  const torchDtype = dtype === "F32" ? "float32" : dtype === "F16" ? "float16" : "bfloat16";
  const configOut = { ...config, architectures: ["BertModel"], model_type: "bert", torch_dtype: torchDtype };
  await withAtomicDirAsync(folder, async (tmp) => {
    fs.writeFileSync(path.join(tmp, "config.json"), JSON.stringify(configOut, null, 2) + "\n");
    if (opts.vocabPath) fs.copyFileSync(opts.vocabPath, path.join(tmp, "vocab.txt"));
    const tokCfg = { do_lower_case: opts.doLowerCase ?? true, model_max_length: config.max_position_embeddings, tokenizer_class: "BertTokenizer" };
    fs.writeFileSync(path.join(tmp, "tokenizer_config.json"), JSON.stringify(tokCfg, null, 2) + "\n");
    for (const [name, content] of Object.entries(opts.extraFiles ?? {})) {
      if (name.includes("/") || name.includes("\\") || name === "..") throw argError("extraFiles", `"${name}" must be a plain file name`);
      fs.writeFileSync(path.join(tmp, name), content);
    }
    writeSafetensors(path.join(tmp, "model.safetensors"), toSave, { dtype });
  });
  // The id of what was written: F16/BF16 rounding changes the weights, so hash the rounded values.
  const stored: FloatTensorMap = new Map();
  for (const [name, t] of tensors) {
    const data = dtype === "F32" ? t.data : dtype === "F16" ? f16ToF32(f32ToF16(t.data, name)) : bf16ToF32(f32ToBf16(t.data));
    stored.set(name, { shape: t.shape, data });
  }
  const vocab = path.join(folder, "vocab.txt");
  return { folder, id: modelContentHash(config, stored, fs.existsSync(vocab) ? vocab : undefined) };
}
