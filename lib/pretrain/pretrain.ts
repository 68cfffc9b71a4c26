/**
 * Masked-language-model pretraining of a BERT with the real uncased vocabulary on a local text corpus, built on the
 * shared training loop (Adam, warm-up schedule, clipping, NaN guard, snapshots, exact resume).
 *
 * Resuming across sessions: the run's trajectory is fixed by its options (target tokens, batch, seed, ...); a session
 * may stop early (--max-minutes, Ctrl-C) and a later one continues from the last snapshot with the same options.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as crypto from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import { initBackend, backendDescription } from "../model/backend";
import { BertModel } from "../model/bert";
import { BertConfig, BertShapeName, BERT_SHAPE_NAMES, bertShape, initializerRange } from "../model/config";
import { saveBertModel } from "../model/checkpoint";
import { readSafetensors } from "../model/safetensors";
import { BertTokenizer } from "../tokenize/wordpiece";
import { runTraining, finishRun, LoopResult } from "../train/loop";
import { linearWarmupSchedule } from "../train/optimizer";
import { VariableParameters, loadEncoderSnapshot } from "../train/params";
import { listSnapshots, readManifest } from "../train/snapshots";
import { mixSeed } from "../train/batches";
import { prepareCorpus, loadTokens } from "./corpus";
import { makeMlmBatch, makeEvalBatches, blockCount, mlmSpecialIds, MlmBatch } from "./masking";
import { MlmHead, softmaxCrossEntropy } from "./mlm";
import { Rng } from "../util/rng";
import { FtgeoError, argError } from "../util/errors";
import { cacheDir, modelsDir } from "../util/paths";
import { ProgressSink } from "../util/progress";

export interface PretrainOptions {
  /** Model shape ("tiny", ...) for a fresh model. */
  shape?: BertShapeName;
  corpusDir: string;
  runDir: string;
  /** Target number of input tokens seen (sequence positions, [CLS]/[SEP] included). */
  tokens: number;
  seqLen?: number;
  batch?: number;
  lr?: number;
  warmup?: number;
  weightDecay?: number;
  clip?: number;
  seed?: number;
  snapshotEvery?: number;
  /** Stop this session after this many minutes (the run stays resumable). */
  maxMinutes?: number;
  /** Only the first N corpus files (tests, quick looks). */
  corpusFiles?: number;
  /** Number of held-out blocks for the evaluation loss and masked-token accuracy. */
  evalBlocks?: number;
  /** Every N-th document of each corpus file is held out for evaluation. */
  heldOutEvery?: number;
  vocabPath?: string;
  /**
   * Start from the weights (encoder and MLM head) of an earlier pretraining snapshot or exported model instead of a
   * random initialisation: a second phase with its own schedule. Its tokens count towards the model's total.
   */
  initFrom?: string;
  /**
   * Train without dropout (BERT pretrains with 0.1). A run this short underfits a never-repeating corpus, where dropout
   * only slows learning (Geiping & Goldstein, "Cramming", 2022). The exported config.json keeps BERT's dropout for
   * fine-tuning.
   */
  noDropout?: boolean;
  /**
   * Set the position-embedding table to sinusoids (Vaswani et al. 2017) with BERT's initial scale before training, in
   * place of the N(0, 0.02) initialisation or of the table loaded by initFrom. The table stays a learned parameter.
   * Why: after 20M tokens from a random start, the learned positions were still unstructured (the cosine between two
   * positions did not depend on their distance), so the model could only use its context as a bag of words.
   */
  sinusoidalPositions?: boolean;
  progressSink?: ProgressSink;
  log?(line: string): void;
  shouldStop?(): boolean;
}

export interface PretrainResult {
  runDir: string;
  steps: number;
  totalSteps: number;
  tokensSeen: number;
  finished: boolean;
  tokensPerSecond: number;
  heldOut: { loss: number; accuracy: number } | null;
  loop: LoopResult;
}

const SEED_INIT = 11;
const SEED_HEAD = 12;
const SEED_ORDER = 13;
const SEED_MASK = 14;
const SEED_DROPOUT = 15;
const EVAL_MASK_SEED = 0x5eed;

export function defaultVocabPath(): string {
  return path.join(modelsDir(), "vocab", "bert-base-uncased-vocab.txt");
}

function tokenCacheDir(corpusDir: string, vocabPath: string): string {
  const key = crypto
    .createHash("sha256")
    .update(path.resolve(corpusDir))
    .update("\0")
    .update(fs.readFileSync(vocabPath))
    .digest("hex")
    .slice(0, 16);
  return cacheDir("corpus-tokens", key);
}

/** Sequence blocks of update `step`: a fresh seeded permutation of all blocks for every pass over the corpus. */
class BlockOrder {
  private pass = -1;
  private perm: Int32Array = new Int32Array(0);
  /** `offset` blocks are skipped: a second phase continues the first phase's order instead of replaying it. */
  constructor(private readonly nBlocks: number, private readonly seed: number, private readonly offset = 0) {}
  blocks(step: number, batch: number): number[] {
    const out: number[] = [];
    for (let b = 0; b < batch; b++) {
      const j = this.offset + step * batch + b;
      const pass = Math.floor(j / this.nBlocks);
      if (pass !== this.pass) {
        const rng = new Rng(mixSeed(this.seed, SEED_ORDER, pass));
        this.perm = Int32Array.from(rng.permutation(this.nBlocks));
        this.pass = pass;
      }
      out.push(this.perm[j % this.nBlocks]);
    }
    return out;
  }
}

/** Where an --init-from folder came from and how many tokens its weights had seen. */
export interface InitSource {
  dir: string;
  tokensSeen: number;
  seqLen: number | null;
  heldOutAccuracy: number | null;
  /** The settings of the run that produced these weights (with its own initFrom, for a chain of phases). */
  runConfig: Record<string, unknown> | null;
}

/**
 * Identify the weights of an --init-from folder: a snapshot inside a pretraining run (run/snapshots/step-N) or a
 * model exported by --export (with pretraining.json). Anything else is refused, because the token count of the
 * model card would be unknown.
 */
export function describeInitSource(dir: string): InitSource {
  const abs = path.resolve(dir);
  if (!fs.existsSync(path.join(abs, "model.safetensors"))) throw argError("--init-from", `${abs} has no model.safetensors`);
  const exported = path.join(abs, "pretraining.json");
  if (fs.existsSync(exported)) {
    const p = JSON.parse(fs.readFileSync(exported, "utf8")) as { tokensSeen: number; seqLen: number; heldOut?: { accuracy: number | null } };
    return { dir: abs, tokensSeen: Number(p.tokensSeen), seqLen: Number(p.seqLen), heldOutAccuracy: p.heldOut?.accuracy ?? null, runConfig: p as Record<string, unknown> };
  }
  const runDir = path.dirname(path.dirname(abs));
  const manifest = readManifest(runDir);
  const state = path.join(abs, "trainer_state.json");
  if (!manifest || manifest.config.kind !== "mlm-pretraining" || !fs.existsSync(state)) {
    throw argError("--init-from", `${abs} is neither a snapshot of a pretraining run (run/snapshots/step-N) nor a model exported by ftgeo pretrain --export`);
  }
  const st = JSON.parse(fs.readFileSync(state, "utf8")) as { step: number; devAccuracy: number | null };
  const cfg = manifest.config as { batch: number; seqLen: number; initFrom?: InitSource | null };
  const prior = cfg.initFrom ? Number(cfg.initFrom.tokensSeen) : 0;
  return {
    dir: abs,
    tokensSeen: prior + st.step * Number(cfg.batch) * Number(cfg.seqLen),
    seqLen: Number(cfg.seqLen),
    heldOutAccuracy: st.devAccuracy,
    runConfig: { ...manifest.config, stoppedAtStep: st.step },
  };
}

/**
 * Sinusoidal positions [P x H] (even columns sin, odd columns cos of pos / 10000^(2i/H)), scaled so that every entry
 * has standard deviation `std` over positions, like BERT's N(0, std) initialisation.
 */
export function sinusoidalTable(P: number, H: number, std: number): Float32Array {
  const out = new Float32Array(P * H);
  const scale = std * Math.SQRT2;
  for (let pos = 0; pos < P; pos++) {
    for (let i = 0; i < H; i += 2) {
      const angle = pos / Math.pow(10000, i / H);
      out[pos * H + i] = scale * Math.sin(angle);
      if (i + 1 < H) out[pos * H + i + 1] = scale * Math.cos(angle);
    }
  }
  return out;
}

/** Mean loss and accuracy of the MLM head on fixed masked batches (no dropout). */
export function evaluateMlm(model: BertModel, head: MlmHead, batches: MlmBatch[]): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const b of batches) {
    const [l, c] = tf.tidy(() => {
      const ids = tf.tensor2d(b.inputIds, [b.batch, b.seqLen], "int32");
      const mask = tf.onesLike(ids) as tf.Tensor2D;
      const layers = model.forward(ids, mask, { training: false });
      const h = MlmHead.atPositions(layers[layers.length - 1], tf.tensor1d(b.positions, "int32"));
      const logits = head.logits(h);
      const labels = tf.tensor1d(b.labels, "int32");
      const loss = softmaxCrossEntropy(logits, labels);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
      return [loss.dataSync()[0], hits.dataSync()[0]];
    });
    lossSum += l * b.labels.length;
    correct += c;
    count += b.labels.length;
  }
  return { loss: lossSum / count, accuracy: correct / count };
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  await initBackend();
  const shape = o.shape ?? "tiny";
  if (!BERT_SHAPE_NAMES.includes(shape)) throw argError("--config", `expected one of ${BERT_SHAPE_NAMES.join(", ")}, got ${shape}`);
  const seqLen = o.seqLen ?? 128;
  const batch = o.batch ?? 32;
  const seed = o.seed ?? 1;
  const lr = o.lr ?? 5e-4;
  const warmup = o.warmup ?? 0.05;
  if (!(o.tokens > 0)) throw argError("--tokens", `expected a positive number of tokens, got ${o.tokens}`);
  if (!Number.isInteger(seqLen) || seqLen < 8) throw argError("--seq-len", `expected an integer >= 8, got ${seqLen}`);
  if (!Number.isInteger(batch) || batch < 1) throw argError("--batch", `expected a positive integer, got ${batch}`);
  const vocabPath = o.vocabPath ?? defaultVocabPath();
  const tokenizer = BertTokenizer.fromVocabFile(vocabPath);
  const config: BertConfig = { ...bertShape(shape), vocab_size: tokenizer.vocabSize, max_position_embeddings: Math.max(512, seqLen) };
  if (seqLen > config.max_position_embeddings) throw argError("--seq-len", `at most ${config.max_position_embeddings}`);

  const corpusCache = tokenCacheDir(o.corpusDir, vocabPath);
  log(`pretrain: tokenizing ${o.corpusDir} into ${corpusCache} (reused when already done)`);
  const corpus = await prepareCorpus(o.corpusDir, corpusCache, tokenizer, vocabPath, { maxFiles: o.corpusFiles, heldOutEvery: o.heldOutEvery });
  const stream = loadTokens(corpusCache, "train", corpus);
  const heldStream = loadTokens(corpusCache, "heldOut", corpus);
  const nBlocks = blockCount(stream.length, seqLen);
  if (nBlocks < batch) throw new FtgeoError(`the corpus ${o.corpusDir} has only ${stream.length} tokens: fewer than one batch of ${batch} x ${seqLen}`);
  const ids = mlmSpecialIds(tokenizer);
  const evalCount = Math.min(o.evalBlocks ?? 64, blockCount(heldStream.length, seqLen));
  if (evalCount < 1) {
    throw new FtgeoError(
      `the held-out slice of ${o.corpusDir} has ${heldStream.length} tokens: less than one sequence of ${seqLen}; hold out more documents (--held-out-every, now ${o.heldOutEvery ?? 200})`,
    );
  }
  const evalBatches = makeEvalBatches(heldStream, evalCount, seqLen, config.vocab_size, ids, new Rng(EVAL_MASK_SEED));
  log(`pretrain: backend ${backendDescription()}; corpus ${stream.length} train tokens (${nBlocks} blocks of ${seqLen}), ${heldStream.length} held-out tokens (${evalCount} evaluation blocks)`);

  const init = o.initFrom ? describeInitSource(o.initFrom) : null;
  const model = BertModel.random(config, mixSeed(seed, SEED_INIT, 0));
  const head = new MlmHead(model, mixSeed(seed, SEED_HEAD, 0));
  if (init) {
    const missing = head.load(loadEncoderSnapshot(model, init.dir));
    if (missing.length > 0) throw argError("--init-from", `${path.join(init.dir, "model.safetensors")} has no MLM head (${missing.join(", ")})`);
    log(`pretrain: starting from ${init.dir} (${init.tokensSeen.toLocaleString("en-US")} tokens seen before)`);
  }
  if (o.sinusoidalPositions) {
    const table = model.variable("embeddings.position_embeddings.weight");
    const [P, H] = table.shape;
    const v = tf.tensor2d(sinusoidalTable(P, H, initializerRange(config)), [P, H]);
    table.assign(v);
    v.dispose();
  }
  // The pooler is not on the MLM path; training it would only cost time.
  const encoderVars = model.trainableVariables().filter((v) => !model.hfName(v).startsWith("pooler."));
  const params = new VariableParameters([...encoderVars.map((v) => ({ name: model.hfName(v), variable: v })), ...head.variables()]);
  const tokensPerStep = batch * seqLen;
  const totalSteps = plannedUpdates(o.tokens, batch, seqLen);
  const order = new BlockOrder(nBlocks, seed, init && init.seqLen === seqLen ? Math.round(init.tokensSeen / seqLen) : 0);
  const started = Date.now();
  const deadline = o.maxMinutes !== undefined ? started + o.maxMinutes * 60_000 : Infinity;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log("pretrain: interrupt received: finishing this update, writing a snapshot, then stopping (again to abort)");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const runConfig = {
    kind: "mlm-pretraining",
    shape,
    config,
    corpus: path.resolve(o.corpusDir),
    corpusFiles: o.corpusFiles ?? null,
    heldOutEvery: o.heldOutEvery ?? 200,
    tokens: o.tokens,
    seqLen,
    batch,
    lr,
    warmup,
    weightDecay: o.weightDecay ?? 0.01,
    clip: o.clip ?? 1,
    seed,
    dropout: o.noDropout ? 0 : config.hidden_dropout_prob,
    positions: o.sinusoidalPositions ? "sinusoidal" : init ? "loaded" : "random",
    initFrom: init,
  };
  let loop: LoopResult;
  try {
    loop = await runTraining({
      label: `pretrain ${shape}`,
      runDir: o.runDir,
      config: runConfig,
      params,
      adam: { weightDecay: o.weightDecay ?? 0.01, eps: 1e-6 },
      lrAt: linearWarmupSchedule(lr, totalSteps, warmup),
      clipNorm: o.clip ?? 1,
      totalSteps,
      stepsPerEpoch: totalSteps,
      snapshotEvery: o.snapshotEvery ?? 500,
      progressSink: o.progressSink,
      log,
      async computeStep(step) {
        const b = makeMlmBatch(stream, order.blocks(step, batch), seqLen, config.vocab_size, ids, new Rng(mixSeed(seed, SEED_MASK, step)));
        const grads = params.zeroGrads();
        const inputIds = tf.tensor2d(b.inputIds, [b.batch, b.seqLen], "int32");
        const mask = tf.onesLike(inputIds) as tf.Tensor2D;
        const positions = tf.tensor1d(b.positions, "int32");
        const labels = tf.tensor1d(b.labels, "int32");
        try {
          const loss = params.accumulateGrads(() => {
            const layers = model.forward(inputIds, mask, { training: !o.noDropout, dropoutSeed: mixSeed(seed, SEED_DROPOUT, step) });
            return softmaxCrossEntropy(head.logits(MlmHead.atPositions(layers[layers.length - 1], positions)), labels);
          }, grads, 1);
          return { loss, units: tokensPerStep, grads };
        } finally {
          inputIds.dispose();
          mask.dispose();
          positions.dispose();
          labels.dispose();
        }
      },
      async writeModel(dir) {
        await saveBertModel(model, dir, { vocabPath, extraTensors: await head.toTensors() });
      },
      async loadModel(dir) {
        const tensors = loadEncoderSnapshot(model, dir);
        const missing = head.load(tensors);
        if (missing.length > 0) throw new FtgeoError(`${path.join(dir, "model.safetensors")}: MLM head tensors missing: ${missing.join(", ")}`);
        params.pull();
      },
      async snapshotMetrics() {
        const r = evaluateMlm(model, head, evalBatches);
        return { devAccuracy: r.accuracy, heldOutLoss: r.loss };
      },
      shouldStop: () => interrupted || (o.shouldStop?.() ?? false) || Date.now() > deadline,
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const last = loop.manifest.snapshots[loop.manifest.snapshots.length - 1];
  const heldOut = last && last.devAccuracy !== null ? { loss: Number(last.metrics.heldOutLoss), accuracy: last.devAccuracy } : null;
  const finished = !loop.stopped;
  const result: PretrainResult = {
    runDir: o.runDir,
    steps: loop.steps,
    totalSteps,
    tokensSeen: (init?.tokensSeen ?? 0) + loop.steps * tokensPerStep,
    finished,
    tokensPerSecond: loop.unitsPerSecond,
    heldOut,
    loop,
  };
  if (finished) finishRun(o.runDir, loop.manifest, { tokensSeen: result.tokensSeen, heldOut });
  model.dispose();
  return result;
}

/**
 * Write the latest snapshot of a pretraining run as a Hugging Face model folder with a model card
 * (the embedded default under models/ is made this way).
 */
export async function exportPretrained(runDir: string, outDir: string, opts: { dtype?: "F32" | "F16"; name?: string } = {}): Promise<string> {
  const manifest = readManifest(runDir);
  if (!manifest || manifest.config.kind !== "mlm-pretraining") throw new FtgeoError(`${runDir} is not a pretraining run folder (no manifest.json of kind mlm-pretraining)`);
  const snaps = listSnapshots(runDir);
  const last = snaps[snaps.length - 1];
  if (!last || last.step === 0) throw new FtgeoError(`${runDir} has no trained snapshot yet`);
  await initBackend();
  const cfg = manifest.config as Record<string, unknown> & { config: BertConfig };
  const file = path.join(last.dir, "model.safetensors");
  const tensors = readSafetensors(file).tensors;
  const model = BertModel.fromTensors(cfg.config, tensors, file);
  const head = new MlmHead(model, 0);
  head.load(tensors);
  const init = (cfg.initFrom ?? null) as InitSource | null;
  const tokensSeen = (init ? Number(init.tokensSeen) : 0) + last.step * Number(cfg.batch) * Number(cfg.seqLen);
  const card = modelCard({
    name: opts.name ?? path.basename(outDir),
    config: cfg.config,
    runConfig: cfg,
    step: last.step,
    tokensSeen,
    init,
    heldOutAccuracy: last.devAccuracy,
    heldOutLoss: last.metrics.heldOutLoss,
    dtype: opts.dtype ?? "F32",
  });
  await saveBertModel(model, outDir, {
    dtype: opts.dtype ?? "F32",
    vocabPath: path.join(last.dir, "vocab.txt"),
    extraTensors: await head.toTensors(),
    extraFiles: {
      "README.md": card,
      "pretraining.json": JSON.stringify({ ...cfg, step: last.step, tokensSeen, heldOut: { accuracy: last.devAccuracy, loss: last.metrics.heldOutLoss } }, relativePaths, 2) + "\n",
    },
  });
  model.dispose();
  return outDir;
}

/**
 * JSON replacer for pretraining.json: the corpus and phase folders relative to the working directory, because a
 * committed model should not carry the absolute paths of the machine that trained it.
 */
function relativePaths(key: string, value: unknown): unknown {
  return (key === "corpus" || key === "dir") && typeof value === "string" && path.isAbsolute(value) ? path.relative(process.cwd(), value) || "." : value;
}

/** The updates of a phase's schedule: enough batches of batch x seqLen to see `tokens` (the last one may overshoot). */
function plannedUpdates(tokens: number, batch: number, seqLen: number): number {
  return Math.ceil(tokens / (batch * seqLen));
}

/** One line per earlier phase (a chain through initFrom), oldest first. */
function describePhase(init: InitSource): string {
  const c = (init.runConfig ?? {}) as Record<string, unknown> & { initFrom?: InitSource | null; stoppedAtStep?: number; step?: number };
  const before = c.initFrom ? describePhase(c.initFrom) + "; then " : "";
  // A snapshot phase records where it stopped; an exported model's pretraining.json records its last step.
  const done = c.stoppedAtStep ?? c.step;
  const steps = done !== undefined ? `${done} updates of ${c.batch} x ${c.seqLen}` : "an exported model";
  const acc = init.heldOutAccuracy === null ? "" : `, held-out accuracy ${(100 * init.heldOutAccuracy).toFixed(2)}%`;
  const drop = (c.dropout === 0 ? ", no dropout" : "") + (c.positions === "sinusoidal" ? ", sinusoidal positions at the start" : "");
  const ending = done === plannedUpdates(Number(c.tokens), Number(c.batch), Number(c.seqLen)) ? "run to its end" : "stopped there";
  return `${before}${steps} with peak lr ${c.lr}${drop}, warm-up ${c.warmup} of a schedule planned for ${Number(c.tokens).toLocaleString("en-US")} tokens, ${ending} (${init.tokensSeen.toLocaleString("en-US")} tokens in all${acc})`;
}

function modelCard(x: {
  name: string;
  config: BertConfig;
  runConfig: Record<string, unknown>;
  step: number;
  tokensSeen: number;
  init: InitSource | null;
  heldOutAccuracy: number | null;
  heldOutLoss: number | undefined;
  dtype: string;
}): string {
  const c = x.config;
  const r = x.runConfig;
  return `# ${x.name}: a miniature BERT pretrained by finetune-geometry

**This is not Google's BERT-tiny** (google/bert_uncased_L-2_H-128_A-2). It has the same shape and the same uncased
30,522-entry WordPiece vocabulary, but it was pretrained from scratch on this machine by \`ftgeo pretrain\`, on far
less text and compute than Google's model. It is the project's embedded default so that every notebook, test and demo
runs offline; for real results pass a Hugging Face id or folder (e.g. \`--model google/bert_uncased_L-2_H-128_A-2\`).

| | |
|---|---|
| shape | ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ${c.num_attention_heads} heads, intermediate ${c.intermediate_size}, max positions ${c.max_position_embeddings} |
| vocabulary | bert-base-uncased vocab.txt (Apache-2.0), ${c.vocab_size} entries |
| objective | masked language modelling only (15% of tokens: 80% [MASK], 10% random, 10% unchanged; no next-sentence prediction), output layer tied to the word embeddings |
| corpus | the project's offline corpus (${String(r.corpus).split(path.sep).slice(-2).join("/")}): English Wikipedia (CC BY-SA 3.0), Project Gutenberg books (public domain), State of the Union addresses and the Brown corpus; every ${r.heldOutEvery}th document of each file held out |
| tokens seen | ${x.tokensSeen.toLocaleString("en-US")} (${x.init ? `${x.init.tokensSeen.toLocaleString("en-US")} in earlier phases, then ` : ""}${x.step} updates of ${r.batch} x ${r.seqLen}) |
| optimiser | Adam (bias correction, decoupled weight decay ${r.weightDecay}), peak lr ${r.lr}, linear warm-up ${r.warmup} then linear decay, gradient clipping ${r.clip}, dropout ${r.dropout ?? c.hidden_dropout_prob} during pretraining (config.json keeps ${c.hidden_dropout_prob} for fine-tuning), ${r.positions === "sinusoidal" ? "position embeddings set to sinusoids at the start of this phase, then learned" : "learned position embeddings"}, seed ${r.seed}${x.init ? ` (last phase)` : ""} |${x.init ? `\n| earlier phases | ${describePhase(x.init)} |` : ""}
| held-out masked-token accuracy | ${x.heldOutAccuracy === null ? "n/a" : (100 * x.heldOutAccuracy).toFixed(2) + "%"} (loss ${x.heldOutLoss === undefined ? "n/a" : Number(x.heldOutLoss).toFixed(4)}) |
| weights | model.safetensors (${x.dtype}), Hugging Face BertForMaskedLM names (encoder without prefix, MLM head under cls.predictions.*) |

Reproduce: \`ftgeo pretrain --config ${r.shape} --corpus ../shared/corpus --out runs/pretrain-${r.shape}${x.init ? "-last" : ""} --tokens ${r.tokens} --batch ${r.batch} --seq-len ${r.seqLen} --lr ${r.lr} --warmup ${r.warmup}${r.dropout === 0 ? " --no-dropout" : ""}${r.positions === "sinusoidal" ? " --sinusoidal-positions" : ""}${x.init ? ` --init-from ${path.basename(path.dirname(path.dirname(x.init.dir)))}/snapshots/${path.basename(x.init.dir)}` : ""}\`
(resumable; add \`--max-minutes N\` to work in sessions)${x.init ? ", after the earlier phase named by --init-from (its settings are in pretraining.json under initFrom)" : ""}, then
\`ftgeo pretrain --export ${path.join("models", x.name)} --out runs/pretrain-${r.shape}${x.init ? "-last" : ""}\`.
`;
}

