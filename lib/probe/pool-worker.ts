/** Worker thread of ProbePool: keeps the shared data of open sessions and trains the jobs it is sent. */
import { parentPort } from "node:worker_threads";
import { loadNativeBlas } from "../model/native-blas";
import { runJob, type PoolData, type TrainJob } from "./pool";

// Workers exist only for probe pools, which run OpenBLAS single-threaded (see pool.ts); loading the addon here
// may have applied FTGEO_BLAS_THREADS to the shared OpenBLAS, so say 1 again.
loadNativeBlas()?.threads(1);

type Message = { type: "data"; id: number; data: PoolData } | { type: "drop"; id: number } | { type: "job"; session: number; job: TrainJob };

const sessions = new Map<number, PoolData>();
parentPort!.on("message", (msg: Message) => {
  if (msg.type === "data") sessions.set(msg.id, msg.data);
  else if (msg.type === "drop") sessions.delete(msg.id);
  else {
    const data = sessions.get(msg.session);
    if (!data) {
      parentPort!.postMessage({ ok: false, error: `pool worker: unknown session ${msg.session}` });
      return;
    }
    runJob(data, msg.job).then(
      (result) => parentPort!.postMessage({ ok: true, result }),
      (e: Error) => parentPort!.postMessage({ ok: false, error: e.stack ?? String(e) }),
    );
  }
});
