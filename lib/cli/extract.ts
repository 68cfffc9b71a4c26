/** `ftgeo extract`: store every layer's vectors of a task split for a model (a second call is a read). */
import { bertRepsEncoder, loadEncoder } from "../reps/encoder";
import { ensureReps } from "../reps/store";
import { loadTask } from "../tasks/load";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../util/args";
import { argError } from "../util/errors";

export const summary = "extract and cache every layer's representations of a task split";

export const options: OptionTable = [
  {
    name: "model",
    type: "string",
    value: "M",
    help: "model folder, hub id, or random:<tiny|mini|small|medium|base>[:seed] (random-init baseline)",
    default: "the embedded model under models/",
  },
  { name: "task", type: "string", value: "T", help: "pos, dep, ps-role, ps-fxn or trec50" },
  { name: "split", type: "string", value: "S", help: "train, dev or test", default: "train" },
  { name: "layers", type: "string", value: "L", help: "comma-separated layers (0 = embeddings)", default: "all" },
  { name: "limit", type: "string", value: "N", help: "a seeded random subset of N examples (quick runs)" },
  { name: "seed", type: "string", value: "S", help: "picks the --limit subset (the vectors themselves do not depend on it)", default: "0" },
  { name: "batch-size", type: "string", value: "B", help: "sentences per forward pass", default: "32" },
  {
    name: "verify",
    type: "string",
    value: "V",
    help: "when reading the cache: quick (size + fingerprint) or full (SHA-256 of every file)",
    default: "quick",
  },
  { name: "data", type: "string", value: "DIR", help: "data folder", default: "FTGEO_DATA or the repository's data/" },
];

export const usage = `usage: ftgeo extract --task T [--model M] [--split S] [--layers 0,3,...] [--limit N] [--seed S]
                     [--batch-size B] [--verify quick|full] [--data DIR]

Encodes the sentences of a task split and stores one vector per example and layer (the word vector for token
tasks, [dependent; head] for dep, [CLS] for trec50) as .npy files under .cache/reps/<model id>/<task>/<split>/
(FTGEO_CACHE moves .cache). A second request is a read; a stale or corrupt entry is recomputed; an interrupted
extraction resumes. Prints progress on stderr and a JSON summary on stdout.

${optionHelp(options)}`;

export function parseLayers(raw: string | undefined): number[] | undefined {
  if (raw === undefined || raw === "" || raw === "all") return undefined;
  const layers = raw.split(",").map((s) => Number(s.trim()));
  if (layers.some((l) => !Number.isInteger(l) || l < 0)) throw argError("--layers", `expected comma-separated layer numbers like 0,3,12, got ${JSON.stringify(raw)}`);
  return layers;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const taskName = strArg(values, "task");
  const split = strArg(values, "split", "train");
  const limit = values.limit === undefined ? undefined : numArg(values, "limit", undefined, { int: true, min: 1 });
  const seed = numArg(values, "seed", 0, { int: true });
  const batchSize = numArg(values, "batch-size", 32, { int: true, min: 1 });
  const verify = strArg(values, "verify", "quick");
  if (verify !== "quick" && verify !== "full") throw argError("--verify", `expected quick or full, got ${JSON.stringify(verify)}`);
  const task = loadTask(taskName, { dataDir: values.data as string | undefined });
  const handle = await loadEncoder(values.model as string | undefined);
  const encoder = bertRepsEncoder(handle, { batchSize });
  const entry = await ensureReps({ encoder, task, split, layers: parseLayers(values.layers as string | undefined), limit, seed, verify });
  const m = entry.manifest;
  console.log(
    JSON.stringify({
      model: handle.source,
      checkpointId: m.checkpointId,
      task: m.task,
      split: m.split,
      subset: m.subset,
      path: entry.dir,
      n: m.n,
      layers: Object.fromEntries(Object.entries(m.layers).map(([k, r]) => [k, { file: r.file, shape: r.shape }])),
      dim: m.dim,
      status: entry.computed.length === 0 ? "cached" : "computed",
      computedLayers: entry.computed,
      seconds: entry.seconds,
    }),
  );
  return 0;
}
