/**
 * `ftgeo bench probe`: time of the paper's probing protocol (grid search + best configuration x seeds) on one
 * task/layer, and scikit-learn's MLPClassifier doing the same in the same run (bench/probe_sklearn.py under
 * Debian's /usr/bin/python3, on the very same .npy files), printed as a time ratio and an accuracy difference.
 * Target: not slower (ratio >= 1) and accuracy within one standard deviation.
 *
 * Fairness: both sides get the same number of cores (--cores, default the pool's workers = the machine's cores).
 * Ours trains that many configurations at once (worker threads, OpenBLAS single-threaded per call); sklearn
 * trains one configuration at a time and uses the cores inside its products (OPENBLAS_NUM_THREADS and
 * OMP_NUM_THREADS set to --cores), which is how it runs by default. Both sides print what they used.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { bertRepsEncoder, loadEncoder } from "../../reps/encoder";
import { getLayer } from "../../reps/store";
import { gridSpec, runProbe } from "../../probe/grid";
import { probeKernels } from "../../probe/kernels";
import { defaultWorkers } from "../../probe/pool";
import { loadTask } from "../../tasks/load";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { argError } from "../../util/errors";
import { repoRoot } from "../../util/paths";

export const summary = "probe grid + seeds on one task/layer: time and accuracy vs scikit-learn's MLPClassifier";

export const options: OptionTable = [
  { name: "model", type: "string", value: "M", help: "model folder, hub id or random:<shape>[:seed]", default: "random:tiny" },
  { name: "task", type: "string", value: "T", help: "a task with a dev split (selection is on dev)", default: "ps-fxn" },
  { name: "layer", type: "string", value: "L", help: "layer (0 = embeddings)", default: "the last" },
  { name: "grid", type: "string", value: "G", help: 'full (128 configurations), small (12) or custom like "64x64,256x256/1e-4,1e-2"', default: "full" },
  { name: "seeds", type: "string", value: "N", help: "retrainings of the best configuration", default: "5" },
  { name: "max-iter", type: "string", value: "N", help: "epoch cap of every training", default: "1000" },
  { name: "limit", type: "string", value: "N", help: "seeded random subset of N examples per split (quick looks)" },
  { name: "cores", type: "string", value: "N", help: "cores for each side", default: "FTGEO_PROBE_WORKERS, else the machine's (at most 8)" },
  { name: "python", type: "string", value: "PATH", help: "Python with scikit-learn for the reference", default: "/usr/bin/python3" },
  { name: "no-sklearn", type: "boolean", help: "skip the scikit-learn reference" },
];

export const usage = `usage: ftgeo bench probe [--model random:tiny] [--task ps-fxn] [--layer L] [--grid full|small|CUSTOM]
                        [--seeds 5] [--max-iter 1000] [--limit N] [--cores N] [--python /usr/bin/python3]
                        [--no-sklearn]

Runs the classifier-probe protocol (selection on dev, best configuration retrained with --seeds seeds) on the
stored vectors of one layer (default: the last layer of a random tiny BERT on PS-fxn), then the same with
scikit-learn on the same files, and prints both times, the ratio sklearn/ours (>= 1: not slower) and the test
accuracy difference against one standard deviation. --grid small (12 configurations) is a quick look.
With --cores N, ours runs N trainings at once and sklearn runs its products on N OpenBLAS/OpenMP threads.

${optionHelp(options)}`;

interface SkResult {
  sklearn: string;
  seconds: number;
  best: { hidden: number[]; alpha: number; selectionAccuracy: number };
  mean: number;
  std: number;
  grid: { epochs: number }[];
  seeds: { testAccuracy: number }[];
  threads?: unknown;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const task = loadTask(strArg(values, "task", "ps-fxn"));
  if (!task.splits.dev) throw argError("--task", `${task.name} has no dev split; the benchmark selects on dev`);
  const gridName = strArg(values, "grid", "full");
  const grid = gridSpec(gridName);
  const seeds = numArg(values, "seeds", 5, { int: true, min: 1 });
  const maxIter = numArg(values, "max-iter", 1000, { int: true, min: 1 });
  const limit = values.limit === undefined ? undefined : numArg(values, "limit", undefined, { int: true, min: 1 });
  const cores = numArg(values, "cores", defaultWorkers(), { int: true, min: 1 });
  const handle = await loadEncoder(strArg(values, "model", "random:tiny"));
  const encoder = bertRepsEncoder(handle);
  const layer = numArg(values, "layer", encoder.numLayers - 1, { int: true, min: 0 });

  // One split after the other: the three extractions share one model.
  const splits = [];
  for (const split of ["train", "dev", "test"]) {
    const d = await getLayer({ encoder, task, split, limit }, layer);
    const rec = d.entry.manifest.layers[String(layer)];
    splits.push({ ds: { x: d.data, y: d.labels, n: d.n, dim: d.dim }, files: [path.join(d.entry.dir, rec.file), path.join(d.entry.dir, d.entry.manifest.labels.file)] });
  }
  const [train, dev, test] = splits;
  const info = { model: handle.source, task: task.name, layer, n: { train: train.ds.n, dev: dev.ds.n, test: test.ds.n }, dim: train.ds.dim, grid: gridName, configurations: grid.hidden.length * grid.alphas.length, seeds, maxIter, cores, kernels: (await probeKernels()).name };
  console.log(`bench probe: ${JSON.stringify(info)}`);

  const t0 = performance.now();
  const ours = await runProbe({ train: train.ds, dev: dev.ds, test: test.ds, numClasses: task.labels.length, grid, seeds, maxIter, workers: cores });
  const oursSeconds = (performance.now() - t0) / 1000;
  const epochs = ours.grid.reduce((a, g) => a + g.epochs, 0);
  console.log(`ftgeo   : ${oursSeconds.toFixed(1)} s  test ${ours.mean.toFixed(4)} +- ${ours.std.toFixed(4)}  best ${ours.best!.hidden.join("x")} alpha ${ours.best!.alpha}  grid epochs ${epochs}`);

  let sk: SkResult | { error: string } | undefined;
  if (!values["no-sklearn"]) {
    const python = strArg(values, "python", "/usr/bin/python3");
    const script = path.join(repoRoot(), "bench", "probe_sklearn.py");
    if (!fs.existsSync(python)) sk = { error: `${python} not found` };
    else {
      const args = [script, "--train", ...train.files, "--dev", ...dev.files, "--test", ...test.files, "--hidden", grid.hidden.map((h) => h.join("x")).join(","), "--alphas", grid.alphas.join(","), "--seeds", String(seeds), "--max-iter", String(maxIter)];
      const env = { ...process.env, OPENBLAS_NUM_THREADS: String(cores), OMP_NUM_THREADS: String(cores) };
      const r = spawnSync(python, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) sk = { error: `probe_sklearn.py exited with ${r.status}: ${(r.stdout || "").slice(-300)}` };
      else sk = JSON.parse(r.stdout.trim().split("\n").pop()!) as SkResult;
    }
  }
  const out: Record<string, unknown> = { ...info, ours: { seconds: oursSeconds, mean: ours.mean, std: ours.std, best: ours.best, gridEpochs: epochs } };
  if (sk && "error" in sk) {
    console.log(`sklearn : unavailable (${sk.error})`);
    out.sklearn = sk;
  } else if (sk) {
    const skEpochs = sk.grid.reduce((a, g) => a + g.epochs, 0);
    const ratio = sk.seconds / oursSeconds;
    const diff = ours.mean - sk.mean;
    const oneStd = Math.max(ours.std, sk.std);
    console.log(`sklearn : ${sk.seconds.toFixed(1)} s  test ${sk.mean.toFixed(4)} +- ${sk.std.toFixed(4)}  best ${sk.best.hidden.join("x")} alpha ${sk.best.alpha}  grid epochs ${skEpochs}  (scikit-learn ${sk.sklearn}; threads ${JSON.stringify(sk.threads ?? "unknown")})`);
    console.log(`ratio sklearn/ftgeo time ${ratio.toFixed(2)} (target >= 1.0); per epoch ${((sk.seconds / (skEpochs + 1)) / (oursSeconds / (epochs + 1))).toFixed(2)}`);
    console.log(`accuracy difference ${(diff * 100).toFixed(2)} points; one std ${(oneStd * 100).toFixed(2)} points: ${Math.abs(diff) <= oneStd ? "within" : "OUTSIDE"}`);
    out.sklearn = { seconds: sk.seconds, mean: sk.mean, std: sk.std, best: sk.best, gridEpochs: skEpochs, version: sk.sklearn, threads: sk.threads };
    out.timeRatio = ratio;
    out.accuracyDifference = diff;
    out.withinOneStd = Math.abs(diff) <= oneStd;
  }
  console.log(JSON.stringify(out));
  return 0;
}
