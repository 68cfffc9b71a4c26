import * as path from "node:path";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../util/args";
import { argError } from "../util/errors";
import { pretrain, exportPretrained } from "../pretrain/pretrain";
import type { BertShapeName } from "../model/config";
import { maskedTokenAccuracy } from "../pretrain/mlm-eval";
import { loadTask } from "../tasks/load";

export const summary = "masked-language-model pretraining of a miniature BERT on a local corpus (resumable)";

export const options: OptionTable = [
  { name: "config", type: "string", value: "NAME", help: "model shape: tiny (2/128/2), mini, small, medium, base", default: "tiny" },
  { name: "corpus", type: "string", value: "DIR", help: "folder whose *.txt.gz files (subfolders included) are the pretraining text" },
  {
    name: "out",
    type: "string",
    value: "DIR",
    help: "run folder: snapshots/step-N and manifest.json; with --export, the run whose latest snapshot is exported",
  },
  { name: "tokens", type: "string", value: "N", help: "target number of input tokens seen (e.g. 20e6)", default: "20000000" },
  { name: "seq-len", type: "string", value: "N", help: "sequence length", default: "128" },
  { name: "batch", type: "string", value: "N", help: "sequences per update", default: "32" },
  { name: "lr", type: "string", value: "X", help: "peak learning rate", default: "5e-4" },
  { name: "warmup", type: "string", value: "F", help: "warm-up fraction of the updates", default: "0.05" },
  { name: "weight-decay", type: "string", value: "X", help: "decoupled weight decay", default: "0.01" },
  { name: "clip", type: "string", value: "X", help: "gradient norm clipping (0: none)", default: "1" },
  { name: "seed", type: "string", value: "N", help: "fixes the initialisation, the order of the sequences, the masking and dropout", default: "1" },
  { name: "no-dropout", type: "boolean", help: "pretrain without dropout (config.json keeps BERT's 0.1 for fine-tuning)" },
  {
    name: "sinusoidal-positions",
    type: "boolean",
    help: "set the position embeddings to sinusoids at the start (also over an --init-from model's), then learn them as usual",
  },
  { name: "snapshot-every", type: "string", value: "N", help: "updates between snapshots (each evaluates held-out accuracy)", default: "500" },
  { name: "max-minutes", type: "string", value: "M", help: "stop this session after M minutes (resumable)" },
  { name: "corpus-files", type: "string", value: "N", help: "use only the first N corpus files (quick looks, tests)" },
  { name: "eval-blocks", type: "string", value: "N", help: "held-out sequences for the evaluation", default: "64" },
  { name: "held-out-every", type: "string", value: "N", help: "hold out every N-th document of each corpus file", default: "200" },
  {
    name: "init-from",
    type: "string",
    value: "DIR",
    help: "start from an earlier snapshot (run/snapshots/step-N) or exported model: a new phase with its own schedule; the model card counts the tokens of every phase",
  },
  {
    name: "evaluate",
    type: "string",
    value: "DIR",
    help: "masked-token accuracy of a model folder's MLM head on the UD EWT test sentences (shipped data, not in the pretraining corpus); prints one JSON line",
  },
  { name: "export", type: "string", value: "DIR", help: "write the latest snapshot of --out as a model folder with a model card" },
  { name: "dtype", type: "string", value: "F32|F16", help: "storage type of the exported weights", default: "F32" },
];

export const usage = `usage: ftgeo pretrain --config tiny --corpus <folder> --out <run folder> [options]
       ftgeo pretrain --out <run folder> --export <model folder> [--dtype F32|F16]
       ftgeo pretrain --evaluate <model folder>

Trains BERT's masked-language-model objective from scratch with the real uncased vocabulary on every *.txt.gz file
below --corpus (one paragraph per line, blank lines between documents). Progress shows tokens, loss, tokens/s, ETA.
Interrupt (Ctrl-C) or --max-minutes: the run stops after writing a snapshot; rerun the same command to continue.

options:
${optionHelp(options)}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  if (values.evaluate !== undefined) {
    const dir = strArg(values, "evaluate");
    const sentences = loadTask("pos").splits.test.sentences.map((words) => words.join(" "));
    const r = await maskedTokenAccuracy(dir, sentences, { seqLen: 64, seed: 0 });
    console.log(JSON.stringify({ model: path.resolve(dir), text: "UD EWT r2.5 test sentences", ...r }));
    return 0;
  }
  const out = strArg(values, "out");
  if (values.export !== undefined) {
    const dtype = strArg(values, "dtype", "F32");
    if (dtype !== "F32" && dtype !== "F16") throw argError("--dtype", `expected F32 or F16, got ${dtype}`);
    const dir = await exportPretrained(out, strArg(values, "export"), { dtype });
    console.log(JSON.stringify({ exported: path.resolve(dir) }));
    return 0;
  }
  const r = await pretrain({
    shape: strArg(values, "config", "tiny") as BertShapeName,
    corpusDir: strArg(values, "corpus"),
    runDir: out,
    tokens: numArg(values, "tokens", 20e6, { min: 1 }),
    seqLen: numArg(values, "seq-len", 128, { int: true, min: 8 }),
    batch: numArg(values, "batch", 32, { int: true, min: 1 }),
    lr: numArg(values, "lr", 5e-4),
    warmup: numArg(values, "warmup", 0.05),
    weightDecay: numArg(values, "weight-decay", 0.01),
    clip: numArg(values, "clip", 1),
    seed: numArg(values, "seed", 1, { int: true, min: 0 }),
    snapshotEvery: numArg(values, "snapshot-every", 500, { int: true, min: 1 }),
    maxMinutes: values["max-minutes"] === undefined ? undefined : numArg(values, "max-minutes"),
    corpusFiles: values["corpus-files"] === undefined ? undefined : numArg(values, "corpus-files", undefined, { int: true, min: 1 }),
    evalBlocks: numArg(values, "eval-blocks", 64, { int: true, min: 1 }),
    heldOutEvery: numArg(values, "held-out-every", 200, { int: true, min: 2 }),
    initFrom: values["init-from"] === undefined ? undefined : strArg(values, "init-from"),
    noDropout: values["no-dropout"] === true,
    sinusoidalPositions: values["sinusoidal-positions"] === true,
  });
  console.log(
    JSON.stringify({
      runDir: path.resolve(r.runDir),
      steps: r.steps,
      totalSteps: r.totalSteps,
      tokensSeen: r.tokensSeen,
      finished: r.finished,
      tokensPerSecond: Math.round(r.tokensPerSecond),
      heldOutAccuracy: r.heldOut?.accuracy ?? null,
      heldOutLoss: r.heldOut?.loss ?? null,
    }),
  );
  return 0;
}
