/**
 * `ftgeo bench direct`: how long DirectProbe takes on the paper's largest settings, where the time goes, and how
 * the hull-distance solver compares with sklearn's SVC (the reference's instrument) on the same cluster pairs,
 * measured in the same run.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { directProbe, DirectProbeResult, findLabelConflicts } from "../../geometry/directprobe";
import { hullDistance } from "../../geometry/hull";
import { initLp } from "../../geometry/lp";
import { loadNativeDist } from "../../geometry/native-dist";
import { makeMatrix, Matrix, selectRows } from "../../geometry/matrix";
import { bertRepsEncoder, loadEncoder } from "../../reps/encoder";
import { writeNpy } from "../../reps/npy";
import { getLayer } from "../../reps/store";
import { loadTask } from "../../tasks/load";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { argError } from "../../util/errors";
import { repoRoot } from "../../util/paths";
import { stderrSink } from "../../util/progress";
import { Rng } from "../../util/rng";

export const summary = "DirectProbe speed: ps-fxn train at BERT-mini (< 60 s), pos train at BERT-tiny (< 30 min, < 8 GiB)";

export const options: OptionTable = [
  { name: "cases", type: "string", value: "LIST", help: "comma-separated: psfxn, pos", default: "psfxn,pos" },
  { name: "model-mini", type: "string", value: "M", help: "model of the psfxn case", default: "the shipped BERT-mini under models/ if any, else random:mini" },
  { name: "model-tiny", type: "string", value: "M", help: "model of the pos case", default: "the shipped BERT-tiny under models/ if any, else random:tiny" },
  { name: "synthetic", type: "boolean", help: "Gaussian mixtures with the same points, dimensions and label counts instead of real data" },
  {
    name: "reference-pairs",
    type: "string",
    value: "N",
    help: "cluster pairs (of different labels, smallest first) whose distance sklearn's SVC computes beside our solver; 0 skips the reference",
    default: "20",
  },
  { name: "limit", type: "string", value: "N", help: "seeded subset of N examples (quick runs)" },
  { name: "no-intervals", type: "boolean", help: "without the projection-interval filter (to measure what it saves)" },
  {
    name: "out",
    type: "string",
    value: "FILE",
    help: "write each case's clusters (label and point indices, in DirectProbe's order) as one JSON line per case, to compare two builds' results byte for byte",
  },
];

export const usage = `usage: ftgeo bench direct [--cases psfxn,pos] [--model-mini M] [--model-tiny M] [--synthetic]
                         [--reference-pairs 20] [--limit N] [--no-intervals] [--out FILE]

Runs DirectProbe on ps-fxn train (4,282 points) at the last layer of a BERT-mini-shaped model and on pos train
(204,585 points, 17 labels) at the last layer of a BERT-tiny-shaped model, and prints per case: clusters vs
labels, seconds per phase (linearity check, linkage, search, checked merging), hull solves per second, cache
hits, peak memory, and the ratio to the targets. Then times sklearn's SVC(kernel="linear", C=1e6) (Debian's
/usr/bin/python3) on up to --reference-pairs cluster pairs against our solver on the same pairs, and the largest
relative difference of the distances.

${optionHelp(options)}`;

interface CaseSpec {
  name: string;
  task: string;
  shape: "mini" | "tiny";
  targetSeconds: number;
}

const CASES: Record<string, CaseSpec> = {
  psfxn: { name: "ps-fxn train @ BERT-mini last layer", task: "ps-fxn", shape: "mini", targetSeconds: 60 },
  pos: { name: "pos train @ BERT-tiny last layer", task: "pos", shape: "tiny", targetSeconds: 1800 },
};

function shippedModel(shape: string): string | undefined {
  const dir = path.join(repoRoot(), "models");
  if (!fs.existsSync(dir)) return undefined;
  const hit = fs.readdirSync(dir).find((d) => d.toLowerCase().includes(shape) && fs.existsSync(path.join(dir, d, "config.json")));
  return hit ? path.join(dir, hit) : undefined;
}

/** A Gaussian mixture shaped like the real case: label frequencies of the real data when known, else uniform. */
function synthetic(n: number, dim: number, labelCounts: number[], seed: number): { m: Matrix; labels: Int32Array } {
  const rng = new Rng(seed);
  const means = labelCounts.map(() => Float64Array.from({ length: dim }, () => rng.normal()));
  const m = makeMatrix(n, dim);
  const labels = new Int32Array(n);
  let i = 0;
  labelCounts.forEach((count, l) => {
    for (let t = 0; t < count && i < n; t++, i++) {
      labels[i] = l;
      for (let k = 0; k < dim; k++) m.data[i * dim + k] = means[l][k] + 0.35 * rng.normal();
    }
  });
  return { m, labels };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const names = strArg(values, "cases", "psfxn,pos").split(",");
  for (const n of names) if (!CASES[n]) throw argError("--cases", `unknown case ${JSON.stringify(n)}; expected psfxn or pos`);
  const refPairs = numArg(values, "reference-pairs", 20, { int: true, min: 0 });
  const limit = values.limit === undefined ? undefined : numArg(values, "limit", undefined, { int: true, min: 1 });
  const out = values.out as string | undefined;
  if (out) fs.writeFileSync(out, "");
  await initLp();
  const progress = stderrSink(5000);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  try {
    for (const key of names) {
      const spec = CASES[key];
      const t0 = performance.now();
      let m: Matrix;
      let labels: Int32Array;
      let source: string;
      const task = loadTask(spec.task);
      if (values.synthetic) {
        const counts = new Array<number>(task.labels.length).fill(0);
        for (const ex of task.splits.train.examples) counts[ex.label]++;
        const n = limit ?? counts.reduce((a, b) => a + b, 0);
        const scaled = counts.map((c) => Math.round((c * n) / task.splits.train.examples.length));
        ({ m, labels } = synthetic(scaled.reduce((a, b) => a + b, 0), spec.shape === "mini" ? 256 : 128, scaled, 1));
        source = `synthetic Gaussian mixture (${task.labels.length} label frequencies of ${spec.task} train)`;
      } else {
        const model = (values[`model-${spec.shape}`] as string | undefined) ?? shippedModel(spec.shape) ?? `random:${spec.shape}`;
        const encoder = bertRepsEncoder(await loadEncoder(model));
        const d = await getLayer({ encoder, task, split: "train", limit, progress }, encoder.numLayers - 1);
        const full = makeMatrix(d.n, d.dim, d.data);
        const conflicts = new Set(findLabelConflicts(full, d.labels).flatMap((c) => c.points));
        const kept = Array.from({ length: d.n }, (_, i) => i).filter((i) => !conflicts.has(i));
        m = conflicts.size > 0 ? selectRows(full, kept) : full;
        labels = conflicts.size > 0 ? Int32Array.from(kept, (i) => d.labels[i]) : d.labels;
        source = `${model} layer ${encoder.numLayers - 1} (${conflicts.size} conflicting identical vectors left out)`;
      }
      const tLoad = performance.now();
      const cpu0 = process.cpuUsage();
      const r = directProbe(m, labels, { progress, intervals: !values["no-intervals"] });
      const seconds = (performance.now() - tLoad) / 1000;
      const cpu = process.cpuUsage(cpu0);
      // On a shared machine wall time includes waiting for a core: report the process's own CPU time too.
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const s = r.stats;
      const report = {
        case: spec.name,
        source,
        points: m.n,
        dim: m.dim,
        labels: r.labels.length,
        clusters: r.numClusters,
        linear: r.linear,
        loadSeconds: (tLoad - t0) / 1000,
        clusterSeconds: seconds,
        clusterCpuSeconds: cpuSeconds,
        loadAverage: os.loadavg()[0],
        // Threads of the native kernels on long inputs (FTGEO_DIST_THREADS; 0: no native kernels): CPU time can exceed wall time.
        nativeThreads: loadNativeDist()?.threads?.() ?? 0,
        targetSeconds: spec.targetSeconds,
        ratioToTarget: seconds / spec.targetSeconds,
        phases: s.seconds,
        hullSolves: s.hullSolves,
        hullSolvesPerSecond: s.hullSeconds > 0 ? s.hullSolves / s.hullSeconds : null,
        hullSeconds: s.hullSeconds,
        hullDecidedByCorral: s.corralDecided,
        hullIterations: s.hullIterations,
        lpSolves: s.lpSolves,
        lpSeconds: s.lpSeconds,
        lpSolvesPerSecond: s.lpSeconds > 0 ? s.lpSolves / s.lpSeconds : null,
        // Where the time goes: inside the hull solver, and the rest (bounding spheres, cached hyperplanes,
        // centroid-direction tests, linkage, bookkeeping).
        timeShares: {
          hullSolver: s.seconds.total > 0 ? s.hullSeconds / s.seconds.total : null,
          lp: s.seconds.total > 0 ? s.lpSeconds / s.seconds.total : null,
          linkage: s.seconds.total > 0 ? s.seconds.linkage / s.seconds.total : null,
          filtersAndBookkeeping: s.seconds.total > 0 ? (s.seconds.total - s.hullSeconds - s.seconds.linkage) / s.seconds.total : null,
        },
        hullOutcomes: { separated: s.hullSeparated, overlap: s.hullOverlap, undecided: s.hullUndecided },
        checks: s.checks,
        sphereSkips: s.sphereSkips,
        projectionSkips: s.projectionSkips,
        intervalSkips: s.intervalSkips,
        cacheHits: { exactPair: s.certHits, extendedHyperplane: s.certExtensions, overlapWitness: s.witnessHits },
        centroidDirectionSeparations: s.centroidDirection,
        uncheckedMerges: s.uncheckedMerges,
        firstOverlapState: s.firstOverlapState,
        statesSearched: s.statesSearched,
        checkedMerges: s.checkedMerges,
        vetoedMerges: s.vetoedMerges,
        hintedVetoes: s.hintedVetoes,
        peakRssGiB: peakRss / 2 ** 30,
      };
      console.log(JSON.stringify(report));
      if (out) {
        const clusters = r.clusters.map((c) => ({ label: c.label, members: Array.from(c.members) }));
        fs.appendFileSync(out, JSON.stringify({ case: key, points: m.n, clusters }) + "\n");
      }
      console.log(
        `${spec.name}: ${m.n} points, ${r.labels.length} labels -> ${r.numClusters} clusters (${r.linear ? "linear" : "non-linear"}) in ` +
          `${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU, ${report.nativeThreads} native threads, load average ${os.loadavg()[0].toFixed(1)}) = ` +
          `${(100 * report.ratioToTarget).toFixed(1)}% of the ${spec.targetSeconds} s target; ` +
          `${s.hullSolves} hull solves (${report.hullSolvesPerSecond?.toFixed(1) ?? "-"}/s, ${s.hullSeconds.toFixed(1)} s, ` +
          `${s.corralDecided} decided by the exact corral method), ${s.lpSolves} LPs (${s.lpSeconds.toFixed(1)} s), ` +
          `linkage ${s.seconds.linkage.toFixed(1)} s, filters and bookkeeping ${(s.seconds.total - s.hullSeconds - s.seconds.linkage).toFixed(1)} s, ` +
          `peak RSS ${report.peakRssGiB.toFixed(2)} GiB`,
      );
      if (refPairs > 0) compareWithSklearn(m, r, refPairs);
    }
  } finally {
    clearInterval(sampler);
  }
  return 0;
}

/** Times sklearn's SVC and our solver on the same cluster pairs (the closest pairs of different labels). */
function compareWithSklearn(m: Matrix, r: DirectProbeResult, count: number): void {
  const python = "/usr/bin/python3";
  const script = path.join(repoRoot(), "bench", "direct_reference.py");
  if (!fs.existsSync(python) || !fs.existsSync(script)) {
    console.log(JSON.stringify({ reference: "skipped", reason: `${python} or ${script} missing` }));
    return;
  }
  // Pairs of clusters of different labels, smallest first so that the reference finishes in reasonable time.
  const pairs: [number, number][] = [];
  const order = r.clusters.map((c, i) => i).sort((a, b) => r.clusters[a].members.length - r.clusters[b].members.length);
  for (let x = 0; x < order.length && pairs.length < count; x++) {
    for (let y = x + 1; y < order.length && pairs.length < count; y++) {
      if (r.clusters[order[x]].label !== r.clusters[order[y]].label) pairs.push([order[x], order[y]]);
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-bench-direct-"));
  try {
    const ours: { distance: number; seconds: number }[] = [];
    const rows: number[] = [];
    const spans: number[] = [];
    for (const [a, b] of pairs) {
      const A = r.clusters[a].members;
      const B = r.clusters[b].members;
      const t = performance.now();
      const h = hullDistance({ m, rows: A }, { m, rows: B }, { goal: "distance", relTol: 1e-4 });
      ours.push({ distance: h.status === "overlap" ? 0 : h.upper, seconds: (performance.now() - t) / 1000 });
      spans.push(rows.length, A.length, B.length);
      rows.push(...A, ...B);
    }
    const sel = selectRows(m, rows);
    writeNpy(path.join(tmp, "points.npy"), sel.data, [sel.n, sel.dim]);
    writeNpy(path.join(tmp, "spans.npy"), Int32Array.from(spans), [pairs.length, 3]);
    const out = execFileSync(python, [script, tmp], { encoding: "utf8", maxBuffer: 1 << 26 });
    const ref = JSON.parse(out.trim().split("\n").pop()!) as { distance: number; seconds: number }[];
    let maxRel = 0;
    ref.forEach((x, i) => {
      if (x.distance > 0 || ours[i].distance > 0) maxRel = Math.max(maxRel, Math.abs(x.distance - ours[i].distance) / Math.max(x.distance, ours[i].distance));
    });
    const oursSeconds = ours.reduce((s, x) => s + x.seconds, 0);
    const refSeconds = ref.reduce((s, x) => s + x.seconds, 0);
    console.log(JSON.stringify({ reference: "sklearn SVC(kernel=linear, C=1e6)", pairs: pairs.length, oursSeconds, sklearnSeconds: refSeconds, speedup: refSeconds / oursSeconds, maxRelativeDifference: maxRel }));
    console.log(`  vs sklearn SVC on ${pairs.length} cluster pairs: ours ${oursSeconds.toFixed(2)} s, sklearn ${refSeconds.toFixed(2)} s (x${(refSeconds / oursSeconds).toFixed(1)}), max relative difference ${maxRel.toExponential(2)}`);
  } catch (e) {
    console.log(JSON.stringify({ reference: "failed", reason: (e as Error).message.split("\n")[0] }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
