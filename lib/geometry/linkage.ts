/**
 * DirectProbe's unchecked merge sequence, step 2 of directprobe.ts: centroid linkage of every label's points on its
 * own (agglomerate.ts). The labels are independent, so on a machine with more than one core they run on worker
 * threads at once, the calling thread taking a share too: the linkage of full POS (17 labels, the largest 35,000
 * points) was about 230 s on one core, 9% of the whole run. Every label's merges depend only on its points and its
 * first merge id, both fixed before any work starts, so the sequences are the same with any number of threads.
 *
 * DirectProbe is synchronous, so the calling thread blocks (Atomics.wait on shared counters, which also carry the
 * workers' progress) and reads the workers' merges with receiveMessageOnPort.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { argError, FtgeoError } from "../util/errors";
import { agglomerate, MergeRecord } from "./agglomerate";
import { Matrix } from "./matrix";

export interface LinkageJob {
  label: number;
  /** The label's points, ascending. */
  members: Int32Array;
  /** Id of the label's first merged cluster (its merges take the next members.length - 1 ids). */
  firstId: number;
}

/** One label's merges as columns (what a worker sends back). */
export interface MergeColumns {
  label: number;
  a: Float64Array;
  b: Float64Array;
  id: Float64Array;
  distance: Float64Array;
}

/** Shared counters, one Int32 slot each: merges done (for progress), then started and finished flags. */
export const COUNTER_DONE = 0;
export const COUNTER_STARTED = 1;
export const COUNTER_FINISHED = 2;

/** The label's centroid-linkage merges (agglomerate, unchecked: members.length - 1 of them). */
export function linkLabel(m: Matrix, job: LinkageJob, onMerge?: () => void): MergeRecord[] {
  const members = Array.from(job.members, (p) => ({ id: p, label: job.label, members: Int32Array.of(p) }));
  return agglomerate(m, members, { nextId: job.firstId, onMerge }).merges;
}

export function toColumns(label: number, merges: MergeRecord[]): MergeColumns {
  const n = merges.length;
  const cols: MergeColumns = { label, a: new Float64Array(n), b: new Float64Array(n), id: new Float64Array(n), distance: new Float64Array(n) };
  merges.forEach((r, i) => {
    cols.a[i] = r.a;
    cols.b[i] = r.b;
    cols.id[i] = r.id;
    cols.distance[i] = r.distance;
  });
  return cols;
}

function fromColumns(c: MergeColumns): MergeRecord[] {
  return Array.from(c.id, (id, i) => ({ a: c.a[i], b: c.b[i], id, distance: c.distance[i], label: c.label }));
}

/** Threads for the linkage: FTGEO_LINKAGE_THREADS, else the machine's cores (at most 8). */
export function linkageThreads(): number {
  const asked = process.env.FTGEO_LINKAGE_THREADS;
  if (asked !== undefined && asked !== "") {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1 || n > 8) throw argError("FTGEO_LINKAGE_THREADS", `expected an integer from 1 to 8, got ${JSON.stringify(asked)}`);
    return n;
  }
  return Math.max(1, Math.min(8, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length));
}

/**
 * Splits the jobs into `parts` groups of about equal work (a label's linkage costs about its size squared: every
 * merge scans the label), largest first onto the least loaded group; group 0 is the calling thread's.
 */
export function balance(jobs: LinkageJob[], parts: number): LinkageJob[][] {
  const groups: LinkageJob[][] = Array.from({ length: parts }, () => []);
  const load = new Array<number>(parts).fill(0);
  const bySize = [...jobs].sort((x, y) => y.members.length - x.members.length || x.label - y.label);
  for (const job of bySize) {
    let g = 0;
    for (let i = 1; i < parts; i++) if (load[i] < load[g]) g = i;
    groups[g].push(job);
    load[g] += job.members.length ** 2;
  }
  return groups;
}

/**
 * Every label's merges, in the order of `jobs`. `threads` (default linkageThreads()) > 1 runs groups of labels on
 * worker threads; onProgress(total merges done) is called about every 1,000 merges.
 */
export function linkLabels(m: Matrix, jobs: LinkageJob[], onProgress?: (done: number) => void, threads = linkageThreads()): MergeRecord[][] {
  const workerFile = path.join(__dirname, "linkage-worker.js");
  const parts = Math.min(threads, jobs.filter((j) => j.members.length > 1).length);
  // One group (one thread, or no compiled worker: run from the TypeScript sources) is this thread's alone.
  const groups = parts > 1 && fs.existsSync(workerFile) ? balance(jobs, parts) : [jobs];
  const data = groups.length > 1 ? sharedCopy(m.data) : m.data;
  const started: { worker: Worker; port: MessagePort; counters: Int32Array; jobs: LinkageJob[] }[] = [];
  const here = [...groups[0]];
  for (const group of groups.slice(1)) {
    if (group.length === 0) continue;
    const counters = new Int32Array(new SharedArrayBuffer(3 * 4));
    const { port1, port2 } = new MessageChannel();
    try {
      const worker = new Worker(workerFile, {
        workerData: { data, n: m.n, dim: m.dim, jobs: group, counters, port: port2 },
        transferList: [port2],
      });
      started.push({ worker, port: port1, counters, jobs: group });
    } catch {
      // No thread to be had (resource limits): these labels run here.
      port1.close();
      here.push(...group);
    }
  }
  const byLabel = new Map<number, MergeRecord[]>();
  let mine = 0;
  const report = (): void => onProgress?.(mine + started.reduce((s, w) => s + Atomics.load(w.counters, COUNTER_DONE), 0));
  try {
    for (const job of here) byLabel.set(job.label, linkLabel(m, job, () => (++mine % 1000 === 0 ? report() : undefined)));
    for (const w of started) {
      let waited = 0;
      while (Atomics.load(w.counters, COUNTER_FINISHED) === 0) {
        Atomics.wait(w.counters, COUNTER_FINISHED, 0, 1000);
        report();
        // A thread that never started (no resources, a broken build) cannot say so while this thread blocks: give
        // it a minute, then do its labels here.
        if (Atomics.load(w.counters, COUNTER_STARTED) === 0 && (waited += 1) > 60) break;
      }
      const reply = receiveMessageOnPort(w.port)?.message as { results?: MergeColumns[]; error?: string } | undefined;
      if (reply?.error) throw new FtgeoError(`DirectProbe linkage worker failed: ${reply.error}`);
      if (reply?.results) for (const c of reply.results) byLabel.set(c.label, fromColumns(c));
      else for (const job of w.jobs) byLabel.set(job.label, linkLabel(m, job));
    }
  } finally {
    for (const w of started) {
      w.port.close();
      void w.worker.terminate();
    }
  }
  return jobs.map((j) => byLabel.get(j.label)!);
}

function sharedCopy(a: Float32Array): Float32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}
