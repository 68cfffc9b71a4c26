/** Worker thread of linkage.ts: the centroid linkage of a group of labels, merges sent back as columns. */
import { workerData, type MessagePort } from "node:worker_threads";
import type { LinkageJob, MergeColumns } from "./linkage";

const { data, n, dim, jobs, counters, port } = workerData as {
  data: Float32Array;
  n: number;
  dim: number;
  jobs: LinkageJob[];
  counters: Int32Array;
  port: MessagePort;
};
// Indices as in linkage.ts (COUNTER_DONE, COUNTER_STARTED, COUNTER_FINISHED), which is loaded only inside the try.
Atomics.store(counters, 1, 1);
try {
  const { linkLabel, toColumns } = require("./linkage") as typeof import("./linkage");
  const results: MergeColumns[] = [];
  for (const job of jobs) results.push(toColumns(job.label, linkLabel({ n, dim, data }, job, () => Atomics.add(counters, 0, 1))));
  port.postMessage({ results }, results.flatMap((c) => [c.a.buffer, c.b.buffer, c.id.buffer, c.distance.buffer] as ArrayBuffer[]));
} catch (e) {
  port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
} finally {
  Atomics.store(counters, 2, 1);
  Atomics.notify(counters, 2);
}
