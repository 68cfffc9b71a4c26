/**
 * `ftgeo finetune`: fine-tune a BERT on a task; resumable (rerun with the same arguments after an interruption).
 */
import { parseCli, numArg, strArg } from "../util/args";
import { argError } from "../util/errors";
import * as fs from "node:fs";
import { finetune } from "../train/finetune";
import { loadUserTask } from "../tasks/user";
import { modelSpecOrDefault } from "../reps/encoder";

export const summary = "fine-tune a BERT on a task (paper recipe; snapshots; resumes after interruption)";

export const usage = `usage: ftgeo finetune --task <name> --out <folder> [--model <folder|hf-id|random:tiny>] [options]

  --model M            model folder, Hugging Face id, or random:<tiny|mini|small|medium|base>;
                       default: the embedded model under models/
  --task T             pos, dep, ps-role, ps-fxn, trec50, or a user task file (CSV/TSV/JSONL with a split column)
  --out DIR            run folder: snapshots/step-N (Hugging Face layout + head), manifest.json
  --epochs E           default 10 (3 for BERT-base-sized models)
  --lr X               peak learning rate, default 3e-4 (linear schedule, --warmup fraction 0.1)
  --batch N            sentences per update, default 32
  --micro-batch N      sentences per forward/backward (gradient accumulation, less memory); default = batch (4 for BERT-base)
  --seed S             fixes data order, dropout, head initialisation; default 1
  --weight-decay X     decoupled weight decay (AdamW), default 0
  --clip X             clip the global gradient norm at X (default off)
  --freeze-layers K    freeze the embeddings and the first K layers (0 = embeddings only)
  --adapters SIZE      add bottleneck adapters and train only them (+ LayerNorms, head)
  --feature-based      frozen encoder, learned weighted sum of all layers into the head
  --snapshot-every N   snapshot every N updates (default: every epoch); always at update 0 and at the end
  --group-by-length    batch sentences of similar length (still random batches; much less padding)
  --max-steps N        stop after N updates (the schedule is laid out for N)
  --limit N            use only the first N sentences of each split (quick runs)
  --max-length N       longest model row (longer sentences are windowed); default the model's maximum
  --no-snapshot-eval   evaluate dev only after each epoch, not at every snapshot

Interrupt (Ctrl-C) and rerun the same command to resume from the last snapshot; the result is the same as an
uninterrupted run. Prints one JSON line at the end: test accuracy, steps, tokens/s, output folder.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    model: { type: "string" },
    task: { type: "string" },
    out: { type: "string" },
    epochs: { type: "string" },
    lr: { type: "string" },
    batch: { type: "string" },
    "micro-batch": { type: "string" },
    seed: { type: "string" },
    warmup: { type: "string" },
    "weight-decay": { type: "string" },
    clip: { type: "string" },
    "adam-eps": { type: "string" },
    "freeze-layers": { type: "string" },
    adapters: { type: "string" },
    "feature-based": { type: "boolean" },
    "group-by-length": { type: "boolean" },
    "snapshot-every": { type: "string" },
    "max-steps": { type: "string" },
    limit: { type: "string" },
    "max-length": { type: "string" },
    "eval-batch": { type: "string" },
    "no-snapshot-eval": { type: "boolean" },
  });
  const opt = (name: string, o: { int?: boolean; min?: number } = {}) => (values[name] === undefined ? undefined : numArg(values, name, undefined, o));
  const lr = opt("lr");
  if (lr !== undefined && !(lr > 0)) throw argError("--lr", `expected a positive number, got ${lr}`);
  const result = await finetune({
    model: modelSpecOrDefault(values.model === undefined ? undefined : strArg(values, "model")),
    // A path is a user-defined task file (CSV/TSV/JSONL, see ftgeo tasks); anything else names a built-in task.
    task: fs.existsSync(strArg(values, "task")) ? loadUserTask(strArg(values, "task")) : strArg(values, "task"),
    out: strArg(values, "out"),
    epochs: opt("epochs", { int: true, min: 1 }),
    lr,
    batch: opt("batch", { int: true, min: 1 }),
    microBatch: opt("micro-batch", { int: true, min: 1 }),
    seed: opt("seed", { int: true, min: 0 }),
    warmup: opt("warmup", { min: 0 }),
    weightDecay: opt("weight-decay", { min: 0 }),
    clip: opt("clip", { min: 0 }),
    adamEps: opt("adam-eps"),
    freezeLayers: opt("freeze-layers", { int: true, min: 0 }),
    adapters: opt("adapters", { int: true, min: 1 }),
    featureBased: values["feature-based"] === true,
    groupByLength: values["group-by-length"] === true,
    snapshotEvery: opt("snapshot-every", { int: true, min: 1 }),
    maxSteps: opt("max-steps", { int: true, min: 1 }),
    limit: opt("limit", { int: true, min: 1 }),
    maxLength: opt("max-length", { int: true, min: 3 }),
    evalBatch: opt("eval-batch", { int: true, min: 1 }),
    snapshotEval: values["no-snapshot-eval"] !== true,
  });
  console.log(JSON.stringify(result));
  return result.stopped ? 130 : 0;
}
