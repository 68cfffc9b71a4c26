/**
 * Fine-tuning a BERT on a task with the paper's recipe (Zhou & Srikumar 2022, after Devlin et al.): Adam with
 * bias correction, learning rate 3e-4, linear schedule with 10% warm-up, batch 32, BERT's dropout, 10 epochs
 * (3 for BERT-base). Variants: freezing the embeddings and the first k layers, adapters, and the feature-based
 * baseline (frozen encoder, learned softmax-weighted sum of all layers into the head).
 *
 * The run lives in its output folder (lib/train/snapshots.ts): rerunning with the same options resumes from the
 * last snapshot and ends with the same weights as an uninterrupted run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, backendName } from "../model/backend";
import { BertModel } from "../model/bert";
import { bertShape, BertConfig, BertShapeName, BERT_SHAPE_NAMES, initializerRange } from "../model/config";
import { loadBertModel, saveBertModel } from "../model/checkpoint";
import { readSafetensors } from "../model/safetensors";
import { BertTokenizer } from "../tokenize/wordpiece";
import { loadTask } from "../tasks/load";
import type { Task } from "../tasks/types";
import { SplitBatches, TaskBatch, mixSeed } from "./batches";
import { ClassifierHead } from "./heads";
import { VariableParameters, loadEncoderSnapshot } from "./params";
import { linearWarmupSchedule } from "./optimizer";
import { finishRun, runTraining, LoopResult } from "./loop";
import { FtgeoError, argError } from "../util/errors";
import { modelsDir } from "../util/paths";
import type { ProgressSink } from "../util/progress";

export interface FinetuneOptions {
  /** A model folder, a Hugging Face id, or random:<shape> (tiny, mini, small, medium, base) for a random BERT. */
  model: string;
  /** A built-in task name or a Task. */
  task: string | Task;
  /** The run folder: snapshots, manifest, final model. */
  out: string;
  /** Default 10, or 3 for BERT-base-sized models (12 layers x 768). */
  epochs?: number;
  /** Peak learning rate. Default 3e-4. */
  lr?: number;
  /** Sentences per update. Default 32. */
  batch?: number;
  /** Sentences per forward/backward pass (gradient accumulation; bounds memory). Default: the batch, 4 for BERT-base-wide models. */
  microBatch?: number;
  /** Fixes data order, dropout masks, head (and random encoder / adapter) initialisation. Default 1. */
  seed?: number;
  /** Warm-up fraction of the updates. Default 0.1. */
  warmup?: number;
  /** Decoupled weight decay (AdamW); 0 (default) is Adam. */
  weightDecay?: number;
  /** Clip the global gradient norm (0 = off, the default). */
  clip?: number;
  adamEps?: number;
  /** Freeze the embeddings and the first k layers (0 = embeddings only). Default: nothing frozen. */
  freezeLayers?: number;
  /** Add adapters of this bottleneck size and train only them, the LayerNorms and the head. */
  adapters?: number;
  /** Frozen encoder, learned softmax-weighted sum of all layers into the head. */
  featureBased?: boolean;
  /** Snapshot every this many updates. Default: once per epoch. */
  snapshotEvery?: number;
  /** Batch sentences of similar length together (random batches, less padding; off by default). */
  groupByLength?: boolean;
  /** Stop after this many updates (the schedule is laid out for them). */
  maxSteps?: number;
  /** Use only the first N sentences (with examples) of each split: quick runs and tests. */
  limit?: number;
  /** Longest model row; longer sentences are split into windows. Default: the model's max_position_embeddings. */
  maxLength?: number;
  /** Sentences per evaluation batch. Default 32. */
  evalBatch?: number;
  /** Evaluate dev accuracy at every snapshot (default true), not only after each epoch. */
  snapshotEval?: boolean;
  dataDir?: string;
  progressSink?: ProgressSink;
  log?: (line: string) => void;
  shouldStop?: () => boolean;
}

export interface FinetuneResult {
  task: string;
  model: string;
  testAccuracy: number | null;
  devAccuracy: number | null;
  steps: number;
  epochs: number;
  tokensPerSecond: number;
  out: string;
  /** The final snapshot: a Hugging Face model folder (head weights as classifier.*, labels in head.json). */
  finalModel: string | null;
  resumedFrom: number | null;
  stopped: boolean;
  backend: string;
}

// Purposes of derived seeds (see mixSeed): independent streams from one user seed.
const SEED_ENCODER = 1;
const SEED_HEAD = 2;
const SEED_ADAPTERS = 3;
const SEED_DROPOUT = 4;
const SEED_HEAD_DROPOUT = 5;

export const HEAD_FILE = "head.json";

export interface HeadInfo {
  task: string;
  kind: Task["kind"];
  labels: string[];
  featureBased: boolean;
  adapters: number;
  /** What the classifier reads: "last layer" or "scalar mix of all layers". */
  input: string;
}

interface LoadedModel {
  model: BertModel;
  config: BertConfig;
  vocabPath: string;
  tokenizer: BertTokenizer;
}

async function loadModel(spec: string, seed: number): Promise<LoadedModel> {
  if (spec.startsWith("random:")) {
    const shape = spec.slice("random:".length) as BertShapeName;
    if (!BERT_SHAPE_NAMES.includes(shape)) throw argError("--model", `random:<shape> needs one of ${BERT_SHAPE_NAMES.join(", ")}, got ${spec}`);
    const config = bertShape(shape);
    const vocabPath = path.join(modelsDir(), "vocab", "bert-base-uncased-vocab.txt");
    return { model: BertModel.random(config, mixSeed(seed, SEED_ENCODER, 0)), config, vocabPath, tokenizer: BertTokenizer.fromVocabFile(vocabPath) };
  }
  const loaded = await loadBertModel(spec);
  if (!loaded.vocabPath) throw argError("--model", `${spec} has no vocab.txt`);
  const tokenizer = BertTokenizer.fromModelDir(path.dirname(loaded.vocabPath));
  return { model: loaded.model, config: loaded.config, vocabPath: loaded.vocabPath, tokenizer };
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw argError(name, `expected a positive integer, got ${x}`);
  return x;
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  await initBackend();
  const task = typeof o.task === "string" ? loadTask(o.task, { dataDir: o.dataDir }) : o.task;
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw argError("--seed", `expected an integer >= 0, got ${seed}`);
  const lr = o.lr ?? 3e-4;
  const batch = positiveInt("--batch", o.batch, 32);
  const featureBased = o.featureBased ?? false;
  const groupByLength = o.groupByLength ?? false;
  const adapters = o.adapters ?? 0;
  const freeze = o.freezeLayers ?? -1;
  if ([featureBased, adapters > 0, freeze >= 0].filter(Boolean).length > 1) {
    throw argError("--feature-based/--adapters/--freeze-layers", "choose at most one of these variants");
  }
  if (!task.splits.train) throw new FtgeoError(`task ${task.name} has no train split (splits: ${Object.keys(task.splits).join(", ")})`);

  const { model, config, vocabPath, tokenizer } = await loadModel(o.model, seed);
  const L = config.num_hidden_layers;
  if (freeze > L) throw argError("--freeze-layers", `the model has ${L} layers; expected 0..${L}`);
  if (adapters > 0) {
    if (model.adapters === 0) model.addAdapters(adapters, mixSeed(seed, SEED_ADAPTERS, 0));
    // Houlsby et al. train the adapters and the layer norms; the rest of the encoder stays as it was.
    model.setTrainable((n) => n.includes(".adapter.") || n.includes("LayerNorm"));
  } else if (featureBased) {
    model.setTrainable(() => false);
  } else if (freeze >= 0) {
    model.freezeLayers(freeze);
  }
  const epochs = positiveInt("--epochs", o.epochs, L >= 12 && config.hidden_size >= 768 ? 3 : 10);
  // The wasm heap stops at 4 GiB. Measured for BERT-base (128-token rows): 2.4 GiB fixed (weights, gradients,
  // caches) plus ~0.3 GiB per row in flight; 4 rows per pass fit, 8 do not. Smaller models fit a whole batch.
  const microBatch = Math.min(batch, positiveInt("--micro-batch", o.microBatch, config.hidden_size >= 768 ? 4 : batch));
  const maxLength = positiveInt("--max-length", o.maxLength, config.max_position_embeddings);
  const evalBatch = positiveInt("--eval-batch", o.evalBatch, 32);

  const head = new ClassifierHead({
    kind: task.kind,
    hidden: config.hidden_size,
    numLabels: task.labels.length,
    dropout: config.hidden_dropout_prob,
    mixLayers: featureBased ? L + 1 : undefined,
    seed: mixSeed(seed, SEED_HEAD, 0),
    initStd: initializerRange(config),
  });
  // The pooler is not on the path of any head here: training it would only cost time.
  const encoderVars = model.trainableVariables().filter((v) => !model.hfName(v).startsWith("pooler."));
  const params = new VariableParameters([...encoderVars.map((v) => ({ name: model.hfName(v), variable: v })), ...head.variables()]);

  const splits = (name: string) => (task.splits[name] ? new SplitBatches(task, task.splits[name], tokenizer, maxLength, o.limit) : undefined);
  const train = splits("train")!;
  const dev = splits("dev");
  const test = splits("test");
  const stepsPerEpoch = train.batchesPerEpoch(batch);
  const totalSteps = Math.min(epochs * stepsPerEpoch, o.maxSteps ?? Infinity);
  const snapshotEvery = positiveInt("--snapshot-every", o.snapshotEvery, stepsPerEpoch);
  const frozenLayers = featureBased ? undefined : freeze >= 0 ? freeze : undefined;

  const toTensors = (b: TaskBatch) => ({
    ids: tf.tensor2d(b.inputIds, [b.rows, b.seqLen], "int32"),
    mask: tf.tensor2d(b.attentionMask, [b.rows, b.seqLen], "int32"),
  });

  const evaluate = async (data: SplitBatches | undefined): Promise<number | undefined> => {
    if (!data) return undefined;
    let right = 0;
    let total = 0;
    for (const sentences of data.evalBatches(evalBatch)) {
      const b = data.makeBatch(sentences);
      const predicted = tf.tidy(() => {
        const { ids, mask } = toTensors(b);
        const layers = model.forward(ids, mask, { training: false });
        return tf.argMax(head.logits(layers, b, false, 0), 1);
      });
      const p = (await predicted.data()) as Int32Array;
      predicted.dispose();
      for (let i = 0; i < p.length; i++) if (p[i] === b.labels[i]) right++;
      total += b.numExamples;
    }
    return total > 0 ? right / total : undefined;
  };

  const headInfo: HeadInfo = {
    task: task.name,
    kind: task.kind,
    labels: task.labels,
    featureBased,
    adapters,
    input: featureBased ? "scalar mix of all layers" : "last layer",
  };

  const config0 = {
    model: o.model,
    task: task.name,
    epochs,
    lr,
    batch,
    microBatch,
    seed,
    warmup: o.warmup ?? 0.1,
    weightDecay: o.weightDecay ?? 0,
    clip: o.clip ?? 0,
    adamEps: o.adamEps ?? 1e-6,
    freezeLayers: freeze,
    adapters,
    featureBased,
    snapshotEvery,
    maxSteps: o.maxSteps ?? null,
    limit: o.limit ?? null,
    maxLength,
    groupByLength,
  };

  let result: LoopResult;
  try {
    result = await runTraining({
      label: `finetune ${task.name}`,
      runDir: o.out,
      config: config0,
      params,
      adam: { eps: config0.adamEps, weightDecay: config0.weightDecay },
      lrAt: linearWarmupSchedule(lr, totalSteps, config0.warmup),
      clipNorm: config0.clip,
      totalSteps,
      stepsPerEpoch,
      snapshotEvery,
      progressSink: o.progressSink,
      log,
      shouldStop: o.shouldStop,
      async computeStep(step, epoch, index) {
        const sentences = train.trainBatchSentences(seed, epoch, index, batch, groupByLength);
        const micro: TaskBatch[] = [];
        for (let i = 0; i < sentences.length; i += microBatch) micro.push(train.makeBatch(sentences.slice(i, i + microBatch)));
        const examples = micro.reduce((s, b) => s + b.numExamples, 0);
        const grads = params.zeroGrads();
        let loss = 0;
        let tokens = 0;
        micro.forEach((b, m) => {
          if (b.numExamples === 0) return;
          const dropSeed = mixSeed(seed, SEED_DROPOUT, step * 1024 + m);
          const headSeed = mixSeed(seed, SEED_HEAD_DROPOUT, step * 1024 + m);
          const { ids, mask } = toTensors(b);
          // Feature-based: the frozen encoder runs outside the gradient computation (no dropout, nothing taped).
          const fixed = featureBased ? tf.tidy(() => model.forward(ids, mask, { training: false })) : undefined;
          try {
            const weight = b.numExamples / examples;
            loss +=
              weight *
              params.accumulateGrads(() => {
                const layers = fixed ?? model.forward(ids, mask, { training: true, dropoutSeed: dropSeed, frozenLayers });
                return ClassifierHead.loss(head.logits(layers, b, true, headSeed), b.labels);
              }, grads, weight);
          } finally {
            ids.dispose();
            mask.dispose();
            fixed?.forEach((t) => t.dispose());
          }
          tokens += b.tokens;
        });
        return { loss, units: tokens, grads };
      },
      async writeModel(dir) {
        await saveBertModel(model, dir, {
          vocabPath,
          extraTensors: await head.toTensors(),
          extraFiles: { [HEAD_FILE]: JSON.stringify(headInfo, null, 2) + "\n" },
        });
      },
      async loadModel(dir) {
        const file = path.join(dir, "model.safetensors");
        const tensors = loadEncoderSnapshot(model, dir);
        for (const { name, variable } of head.variables()) {
          const t = tensors.get(name);
          if (!t) throw new FtgeoError(`${file}: head tensor ${name} is missing`);
          const value = tf.tensor(ClassifierHead.variableValues(name, t, variable.shape), variable.shape, "float32");
          variable.assign(value);
          value.dispose();
        }
        params.pull();
      },
      snapshotMetrics: dev && (o.snapshotEval ?? true) ? async () => ({ devAccuracy: (await evaluate(dev))! }) : undefined,
      async epochMetrics() {
        const m: Record<string, number> = {};
        const d = await evaluate(dev);
        if (d !== undefined) m.devAccuracy = d;
        const t = await evaluate(test);
        if (t !== undefined) m.testAccuracy = t;
        return m;
      },
    });
  } catch (e) {
    model.dispose();
    head.dispose();
    throw e;
  }

  const lastEpoch = result.manifest.epochs.filter((e) => e.step === result.steps).pop();
  const out: FinetuneResult = {
    task: task.name,
    model: o.model,
    testAccuracy: lastEpoch?.metrics.testAccuracy ?? null,
    devAccuracy: lastEpoch?.metrics.devAccuracy ?? null,
    steps: result.steps,
    epochs: result.steps / stepsPerEpoch,
    tokensPerSecond: Math.round(result.unitsPerSecond),
    out: path.resolve(o.out),
    finalModel: result.finalSnapshot?.dir ?? null,
    resumedFrom: result.resumedFrom,
    stopped: result.stopped,
    backend: backendName(),
  };
  if (!result.stopped) finishRun(o.out, result.manifest, { ...out });
  model.dispose();
  head.dispose();
  return out;
}

/** The head description saved with a fine-tuned snapshot, or undefined for a plain encoder folder. */
export function readHeadInfo(modelDir: string): HeadInfo | undefined {
  const file = path.join(modelDir, HEAD_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as HeadInfo) : undefined;
}
