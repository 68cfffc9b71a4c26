/**
 * `ftgeo finetune`: fine-tune a BERT on a task; resumable (rerun with the same arguments after an interruption).
 */
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../util/args";
import { argError } from "../util/errors";
import * as fs from "node:fs";
import { finetune } from "../train/finetune";
import { loadUserTask } from "../tasks/user";
import { modelSpecOrDefault } from "../reps/encoder";

export const summary = "fine-tune a BERT on a task (paper recipe; snapshots; resumes after interruption)";

export const options: OptionTable = [
  {
    name: "model",
    type: "string",
    value: "M",
    help: "model folder, Hugging Face id, or random:<tiny|mini|small|medium|base>",
    default: "the embedded model under models/",
  },
  { name: "task", type: "string", value: "T", help: "pos, dep, ps-role, ps-fxn, trec50, or a user task file (CSV/TSV/JSONL with a split column)" },
  { name: "out", type: "string", value: "DIR", help: "run folder: snapshots/step-N (Hugging Face layout + head), manifest.json" },
  { name: "epochs", type: "string", value: "E", help: "passes over the training split", default: "10; 3 for BERT-base-sized models" },
  { name: "lr", type: "string", value: "X", help: "peak learning rate of the linear schedule (warm-up, then linear decay to 0)", default: "3e-4" },
  { name: "warmup", type: "string", value: "F", help: "fraction of the updates (in [0, 1)) over which the learning rate rises linearly from 0 to --lr", default: "0.1" },
  { name: "batch", type: "string", value: "N", help: "sentences per update", default: "32" },
  {
    name: "micro-batch",
    type: "string",
    value: "N",
    help: "sentences per forward/backward (gradient accumulation, less memory)",
    default: "the batch; 4 for BERT-base",
  },
  { name: "seed", type: "string", value: "S", help: "fixes data order, dropout, head initialisation", default: "1" },
  { name: "weight-decay", type: "string", value: "X", help: "decoupled weight decay (AdamW); 0 is Adam", default: "0" },
  { name: "clip", type: "string", value: "X", help: "clip the global gradient norm at X; 0 is off", default: "0" },
  { name: "adam-eps", type: "string", value: "X", help: "epsilon added to the denominator of Adam's update (positive; the default is BERT's)", default: "1e-6" },
  { name: "freeze-layers", type: "string", value: "K", help: "freeze the embeddings and the first K layers (0 = embeddings only)", default: "nothing frozen" },
  { name: "adapters", type: "string", value: "SIZE", help: "add bottleneck adapters and train only them (+ LayerNorms, head)" },
  { name: "feature-based", type: "boolean", help: "frozen encoder, learned weighted sum of all layers into the head" },
  {
    name: "snapshot-every",
    type: "string",
    value: "N",
    help: "snapshot every N updates; always at update 0 and at the end",
    default: "every epoch",
  },
  { name: "group-by-length", type: "boolean", help: "batch sentences of similar length (still random batches; much less padding)" },
  { name: "max-steps", type: "string", value: "N", help: "stop after N updates (the schedule is laid out for N)" },
  { name: "limit", type: "string", value: "N", help: "use only the first N sentences of each split (quick runs)" },
  { name: "max-length", type: "string", value: "N", help: "longest model row (longer sentences are windowed)", default: "the model's maximum" },
  {
    name: "eval-batch",
    type: "string",
    value: "N",
    help: "sentences per forward pass when evaluating dev and test (trades memory for speed)",
    default: "32",
  },
  { name: "no-snapshot-eval", type: "boolean", help: "evaluate dev only after each epoch, not at every snapshot" },
];

export const usage = `usage: ftgeo finetune --task <name> --out <folder> [--model <folder|hf-id|random:tiny>] [options]

${optionHelp(options)}

Interrupt (Ctrl-C) and rerun the same command to resume from the last snapshot; the result is the same as an
uninterrupted run. Prints one JSON line at the end: test accuracy, steps, tokens/s, output folder.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
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
