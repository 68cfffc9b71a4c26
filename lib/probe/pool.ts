/**
 * Trains independent probes (grid configurations, seeds) in parallel worker threads; the vectors are shared with
 * the workers through SharedArrayBuffers, not copied. One training is single-threaded, so a 2-core machine runs
 * two configurations at once: while a pool is open, OpenBLAS (native kernels) runs one thread per call, because
 * the probe's products are small (200 rows) and OpenBLAS's thread hand-off costs more than it saves there
 * (measured 4x slower per product on this machine, worse under load) and would oversubscribe the cores the
 * workers already use. Results depend only on each job's seed, so they are the same with any number of workers.
 * workers = 1 trains in the calling thread.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { loadNativeBlas } from "../model/native-blas";
import { MlpProbe, type Dataset, type MlpConfig, type TrainInfo } from "./mlp";

export type SetName = "train" | "dev" | "test";

export interface TrainJob {
  cfg: MlpConfig;
  /** Training rows of the train set (default all). */
  rows?: Int32Array;
  /** Accuracies to report after training, in order. */
  evaluate: { set: SetName; rows?: Int32Array }[];
}

export interface JobResult {
  accuracies: number[];
  info: TrainInfo;
}

export interface PoolData {
  train: Dataset;
  dev?: Dataset;
  test?: Dataset;
  numClasses: number;
}

/** Run one job in this thread. */
export async function runJob(data: PoolData, job: TrainJob): Promise<JobResult> {
  const probe = await MlpProbe.train(data.train, data.numClasses, job.cfg, { rows: job.rows });
  const accuracies = job.evaluate.map((e) => {
    const ds = data[e.set];
    if (!ds) throw new Error(`runJob: no ${e.set} set`);
    return probe.accuracy(ds, e.rows);
  });
  return { accuracies, info: probe.info };
}

/** Default parallelism: the machine's cores (FTGEO_PROBE_WORKERS overrides; 1 = no worker threads). */
export function defaultWorkers(): number {
  const env = Number(process.env.FTGEO_PROBE_WORKERS);
  if (Number.isInteger(env) && env >= 1) return env;
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, 8));
}

function shared(ds: Dataset | undefined): Dataset | undefined {
  if (!ds) return undefined;
  if (ds.x.buffer instanceof SharedArrayBuffer && ds.y.buffer instanceof SharedArrayBuffer) return ds;
  const x = new Float32Array(new SharedArrayBuffer(ds.x.byteLength));
  x.set(ds.x);
  const y = new Int32Array(new SharedArrayBuffer(ds.y.byteLength));
  y.set(ds.y);
  return { x, y, n: ds.n, dim: ds.dim };
}

interface Pending {
  job: TrainJob;
  session: number;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

type WorkerReply = { ok: true; result: JobResult } | { ok: false; error: string };

/**
 * Worker threads live for the whole process (starting one loads tfjs and compiles wasm: seconds), unreferenced
 * while idle so they never keep the process alive. Sessions (one per ProbePool) register their shared data with
 * every worker, which keeps it until the session closes.
 */
class Workers {
  private readonly all: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly sessions = new Map<number, PoolData>();

  ensure(size: number): void {
    while (this.all.length < size) {
      const w = new Worker(path.join(__dirname, "pool-worker.js"));
      w.on("message", (msg: WorkerReply) => {
        const p = this.busy.get(w);
        this.busy.delete(w);
        if (p) {
          if (msg.ok) p.resolve(msg.result);
          else p.reject(new Error(msg.error));
        }
        this.idle.push(w);
        this.pump();
      });
      w.on("error", (e) => {
        const p = this.busy.get(w);
        this.busy.delete(w);
        this.all.splice(this.all.indexOf(w), 1);
        p?.reject(e);
      });
      for (const [id, data] of this.sessions) w.postMessage({ type: "data", id, data });
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  open(id: number, data: PoolData): void {
    this.sessions.set(id, data);
    for (const w of this.all) w.postMessage({ type: "data", id, data });
  }

  close(id: number): void {
    this.sessions.delete(id);
    for (const w of this.all) w.postMessage({ type: "drop", id });
  }

  run(session: number, job: TrainJob): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, session, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      w.ref();
      w.postMessage({ type: "job", session: p.session, job: p.job });
    }
    for (const w of this.idle) w.unref();
  }
}

let workers: Workers | undefined;
let nextSession = 1;

/**
 * OpenBLAS's thread count is one setting for the whole process: the first open pool sets it to 1, the last one
 * to close restores it (for BERT's large products in the same process).
 */
let openPools = 0;
let savedBlasThreads = 0;
function singleThreadedBlas(enter: boolean): void {
  const blas = loadNativeBlas();
  if (!blas) return;
  if (enter) {
    if (openPools++ === 0) {
      savedBlasThreads = blas.threads();
      blas.threads(1);
    }
  } else if (--openPools === 0) blas.threads(savedBlasThreads);
}

/** Runs jobs on shared data: in worker threads when size > 1, in this thread otherwise. */
export class ProbePool {
  private readonly data: PoolData;
  private readonly session: number;
  /** At most `size` jobs of this pool at once (other pools may share the threads). */
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  private closed = false;

  constructor(data: PoolData, readonly size = defaultWorkers()) {
    this.session = nextSession++;
    singleThreadedBlas(true);
    if (size <= 1) {
      this.data = data;
      return;
    }
    this.data = { train: shared(data.train)!, dev: shared(data.dev), test: shared(data.test), numClasses: data.numClasses };
    workers ??= new Workers();
    workers.ensure(size);
    workers.open(this.session, this.data);
  }

  async run(job: TrainJob): Promise<JobResult> {
    // In this thread too, one job at a time: a training never yields, so jobs started together would all finish
    // before the first result were seen (no progress, no resumable results file until the end).
    while (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return this.size <= 1 ? await runJob(this.data, job) : await workers!.run(this.session, job);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    singleThreadedBlas(false);
    if (this.size > 1) workers?.close(this.session);
  }
}
