/**
 * Masked-language-model batches: fixed-length blocks of the token stream, [CLS] block [SEP], and BERT's masking:
 * 15% of the non-special positions are predicted; of those 80% become [MASK], 10% a random token, 10% unchanged.
 * The number of predictions per sequence is fixed (round(0.15 * block length)) so the output layer has a static
 * shape and is computed only at those positions.
 */
import { Rng } from "../util/rng";
import type { BertTokenizer } from "../tokenize/wordpiece";

export interface MlmSpecialIds {
  cls: number;
  sep: number;
  mask: number;
  /** Ids that random replacement must not produce ([PAD], [UNK], [CLS], [SEP], [MASK]). */
  special: number[];
}

/** The special ids of a tokenizer's vocabulary, as masking needs them. */
export function mlmSpecialIds(tok: BertTokenizer): MlmSpecialIds {
  return { cls: tok.clsId, sep: tok.sepId, mask: tok.maskId, special: [tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId] };
}

export interface MlmBatch {
  batch: number;
  seqLen: number;
  /** [batch * seqLen] input ids after masking. */
  inputIds: Int32Array;
  /** [batch * predictions] flat positions (row * seqLen + column) whose original token is predicted. */
  positions: Int32Array;
  /** [batch * predictions] original token ids at `positions`. */
  labels: Int32Array;
  predictionsPerSequence: number;
}

export function predictionsPerSequence(seqLen: number, rate = 0.15): number {
  return Math.max(1, Math.round((seqLen - 2) * rate));
}

/** Number of whole blocks of `seqLen - 2` tokens in a stream of `tokens` tokens. */
export function blockCount(tokens: number, seqLen: number): number {
  return Math.floor(tokens / (seqLen - 2));
}

/**
 * Build the masked batch for the blocks `blockIds` of `stream`. `rng` decides the masking; the caller derives it from
 * (seed, step) so that a resumed run masks exactly as an uninterrupted one.
 */
export function makeMlmBatch(
  stream: Uint16Array,
  blockIds: ArrayLike<number>,
  seqLen: number,
  vocabSize: number,
  ids: MlmSpecialIds,
  rng: Rng,
): MlmBatch {
  const batch = blockIds.length;
  const body = seqLen - 2;
  const k = predictionsPerSequence(seqLen);
  const inputIds = new Int32Array(batch * seqLen);
  const positions = new Int32Array(batch * k);
  const labels = new Int32Array(batch * k);
  const special = new Set(ids.special);
  const order = Array.from({ length: body }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    const start = blockIds[b] * body;
    const row = b * seqLen;
    inputIds[row] = ids.cls;
    for (let i = 0; i < body; i++) inputIds[row + 1 + i] = stream[start + i];
    inputIds[row + seqLen - 1] = ids.sep;
    // Choose k distinct body positions, preferring non-special tokens (document-separating [SEP]s are not
    // predicted, as in BERT); partial Fisher-Yates over a candidate list.
    const candidates = order.filter((i) => !special.has(stream[start + i]));
    const pool = candidates.length >= k ? candidates : order.slice();
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(pool.length - j);
      const t = pool[j];
      pool[j] = pool[r];
      pool[r] = t;
    }
    const chosen = pool.slice(0, k).sort((a, c) => a - c);
    for (let j = 0; j < k; j++) {
      const col = 1 + chosen[j];
      const p = row + col;
      positions[b * k + j] = p;
      labels[b * k + j] = inputIds[p];
      const u = rng.next();
      if (u < 0.8) inputIds[p] = ids.mask;
      else if (u < 0.9) {
        let r: number;
        do r = rng.int(vocabSize);
        while (special.has(r));
        inputIds[p] = r;
      }
    }
  }
  return { batch, seqLen, inputIds, positions, labels, predictionsPerSequence: k };
}

/**
 * Fixed evaluation batches over the first `count` blocks of `stream` (16 sequences each), masked once by `rng`: the
 * same positions are scored every time they are evaluated.
 */
export function makeEvalBatches(stream: Uint16Array, count: number, seqLen: number, vocabSize: number, ids: MlmSpecialIds, rng: Rng): MlmBatch[] {
  const batches: MlmBatch[] = [];
  for (let i = 0; i < count; i += 16) {
    const blocks = Array.from({ length: Math.min(16, count - i) }, (_, k) => i + k);
    batches.push(makeMlmBatch(stream, blocks, seqLen, vocabSize, ids, rng));
  }
  return batches;
}
