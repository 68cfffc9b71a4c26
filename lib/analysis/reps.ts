/**
 * Layer vectors of a model folder (a fine-tuning snapshot) on a task split, through the representation store.
 * The encoder is lazy: its cache key (the content hash) comes from reading the checkpoint, and the BERT itself is
 * only built when the store has something to extract -- a notebook re-run reads vectors without building models.
 */
import { loadCheckpoint } from "../model/checkpoint";
import { bertRepsEncoder, loadEncoder, type BertEncoderHandle } from "../reps/encoder";
import { ensureReps, loadLayer, type LayerData, type RepsEncoder, type RepsEntry } from "../reps/store";
import type { Task } from "../tasks/types";
import type { ProgressSink } from "../util/progress";

interface CheckpointInfo {
  id: string;
  layers: number;
  hidden: number;
}

const infoByDir = new Map<string, CheckpointInfo>();

async function checkpointInfo(dir: string): Promise<CheckpointInfo> {
  let info = infoByDir.get(dir);
  if (!info) {
    const ck = await loadCheckpoint(dir);
    info = { id: ck.contentHash, layers: ck.config.num_hidden_layers + 1, hidden: ck.config.hidden_size };
    infoByDir.set(dir, info);
  }
  return info;
}

/** A store encoder for a model folder that builds the model on first use; call dispose() afterwards. */
export async function lazyEncoder(dir: string): Promise<RepsEncoder & { dispose(): void }> {
  const info = await checkpointInfo(dir);
  let handle: BertEncoderHandle | undefined;
  let inner: RepsEncoder | undefined;
  return {
    id: info.id,
    numLayers: info.layers,
    hidden: info.hidden,
    encode(sentences, layers) {
      const gen = async function* () {
        if (!inner) {
          handle = await loadEncoder(dir);
          inner = bertRepsEncoder(handle);
        }
        yield* inner.encode(sentences, layers);
      };
      return gen();
    },
    dispose() {
      handle?.model.dispose();
      handle = undefined;
      inner = undefined;
    },
  };
}

/** Make sure every layer of `dir` is stored for these splits of the task (one encoder pass per split). */
export async function ensureModelReps(dir: string, task: Task, splits: string[], progress?: ProgressSink): Promise<Record<string, RepsEntry>> {
  const enc = await lazyEncoder(dir);
  try {
    const out: Record<string, RepsEntry> = {};
    for (const split of splits) out[split] = await ensureReps({ encoder: enc, task, split, progress });
    return out;
  } finally {
    enc.dispose();
  }
}

/** One layer of one split for a model folder (extracting every layer of that split first if needed). */
export async function modelLayer(dir: string, task: Task, split: string, layer: number, progress?: ProgressSink): Promise<LayerData & { checkpointId: string; examplesHash: string }> {
  const entries = await ensureModelReps(dir, task, [split], progress);
  const m = entries[split].manifest;
  return { ...loadLayer(entries[split], layer), checkpointId: m.checkpointId, examplesHash: m.examplesHash };
}

/** Number of layers (embeddings + transformer layers) of a model folder. */
export async function modelLayers(dir: string): Promise<number> {
  return (await checkpointInfo(dir)).layers;
}
