/** `ftgeo probe mlp`: the paper's classifier probe on one layer (grid search, best configuration x seeds). */
import { bertRepsEncoder, loadEncoder } from "../../reps/encoder";
import { gridSpec } from "../../probe/grid";
import { probeLayer } from "../../probe/layer";
import { loadTask } from "../../tasks/load";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { argError } from "../../util/errors";

export const summary = "classifier probe (2 hidden ReLU layers, Adam): grid search, best config x seeds, test accuracy";

export const options: OptionTable = [
  { name: "model", type: "string", value: "M", help: "model folder, hub id or random:<shape>[:seed]", default: "the embedded model under models/" },
  { name: "task", type: "string", value: "T", help: "pos, dep, ps-role, ps-fxn or trec50" },
  { name: "layer", type: "string", value: "L", help: "layer (0 = embeddings)", default: "the last" },
  {
    name: "grid",
    type: "string",
    value: "G",
    help: 'configurations searched: full (the paper\'s 128), small (12, quick looks) or custom hidden pairs/alphas like "64x64,256x256/1e-4,1e-2"',
    default: "full",
  },
  { name: "seeds", type: "string", value: "N", help: "trainings of the best configuration on all of train; their test accuracies give mean and std", default: "5" },
  { name: "max-iter", type: "string", value: "N", help: "epoch cap of every training (the paper's)", default: "1000" },
  { name: "limit", type: "string", value: "N", help: "seeded random subset of N examples per split (quick budgets)" },
  {
    name: "seed",
    type: "string",
    value: "S",
    help: "picks the --limit subsets and the held-out part, and seeds the grid's trainings (the --seeds retrainings use S+1 .. S+N)",
    default: "0",
  },
  { name: "select", type: "string", value: "S", help: "select the configuration on dev or on held-out (10% of train)", default: "dev when the task has one" },
  { name: "data", type: "string", value: "DIR", help: "data folder", default: "FTGEO_DATA or the repository's data/" },
];

export const usage = `usage: ftgeo probe mlp --task T [--model M] [--layer L] [--grid full|small|CUSTOM] [--seeds 5]
                       [--max-iter 1000] [--limit N] [--seed S] [--select dev|held-out] [--data DIR]

Trains the paper's probe on the frozen vectors of one layer (extracted and cached first if needed): grid search
over hidden sizes {32,64,128,256}^2 and L2 alpha 1e-7..1 (--grid full, 128 configurations; small: 12; custom:
"64x64,256x256/1e-4,1e-2"), selected on dev (or a 10% held-out part of train), then the best configuration
retrained with --seeds seeds on all of train. Prints one JSON line: mean, std (population) and per-seed test
accuracies, the configuration, timing. Results are cached and an interrupted grid resumes.

${optionHelp(options)}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const task = loadTask(strArg(values, "task"), { dataDir: values.data as string | undefined });
  const gridName = strArg(values, "grid", "full");
  const grid = gridSpec(gridName);
  const select = values.select as string | undefined;
  if (select !== undefined && select !== "dev" && select !== "held-out") throw argError("--select", `expected dev or held-out, got ${JSON.stringify(select)}`);
  const handle = await loadEncoder(values.model as string | undefined);
  const encoder = bertRepsEncoder(handle);
  const layer = numArg(values, "layer", encoder.numLayers - 1, { int: true, min: 0 });
  const t0 = Date.now();
  const r = await probeLayer({
    encoder,
    task,
    layer,
    grid,
    gridName,
    seeds: numArg(values, "seeds", 5, { int: true, min: 1 }),
    maxIter: numArg(values, "max-iter", 1000, { int: true, min: 1 }),
    limit: values.limit === undefined ? undefined : numArg(values, "limit", undefined, { int: true, min: 1 }),
    seed: numArg(values, "seed", 0, { int: true }),
    select: select as "dev" | "held-out" | undefined,
  });
  console.log(
    JSON.stringify({
      model: handle.source,
      checkpointId: r.checkpointId,
      task: r.task,
      layer: r.layer,
      n: r.n,
      dim: r.dim,
      mean: r.mean,
      std: r.std,
      accuracies: r.seeds.map((s) => s.testAccuracy),
      config: r.best,
      selection: r.selection,
      grid: { name: gridName, configurations: r.grid.length },
      maxIter: r.maxIter,
      trainSeconds: r.seconds,
      wallSeconds: (Date.now() - t0) / 1000,
      resultsFile: r.resultsFile,
    }),
  );
  return 0;
}
