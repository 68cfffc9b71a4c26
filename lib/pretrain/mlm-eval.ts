/**
 * Masked-token accuracy of a model folder's MLM head on any text: a check that a pretrained checkpoint (the embedded
 * default, or a Hugging Face BertForMaskedLM folder) predicts words from their context, on text it was not trained on.
 * The text is tokenized, packed into sequences separated by [SEP], masked as in pretraining with a fixed seed, and
 * scored without dropout.
 */
import { initBackend } from "../model/backend";
import { loadBertModel } from "../model/checkpoint";
import { BertTokenizer } from "../tokenize/wordpiece";
import { FtgeoError } from "../util/errors";
import { Rng } from "../util/rng";
import { blockCount, makeEvalBatches, mlmSpecialIds } from "./masking";
import { MlmHead } from "./mlm";
import { evaluateMlm } from "./pretrain";

export interface MlmEvalResult {
  accuracy: number;
  loss: number;
  /** Masked positions scored. */
  predictions: number;
  sequences: number;
}

export async function maskedTokenAccuracy(
  modelDir: string,
  texts: string[],
  opts: { seqLen?: number; seed?: number; maxSequences?: number } = {},
): Promise<MlmEvalResult> {
  const seqLen = opts.seqLen ?? 64;
  await initBackend();
  const loaded = await loadBertModel(modelDir);
  try {
    const tok = loaded.vocabPath ? BertTokenizer.fromVocabFile(loaded.vocabPath) : BertTokenizer.bertBaseUncased();
    const extra = loaded.checkpoint.extra;
    const head = new MlmHead(loaded.model, 0);
    const missing = head.load(new Map([...extra].map(([k, v]) => [k.replace(/^bert\./, ""), v])));
    if (missing.length > 0) throw new FtgeoError(`${modelDir}: no masked-language-model head (missing ${missing.join(", ")}): not a BertForMaskedLM checkpoint`);
    const ids: number[] = [];
    for (const t of texts) ids.push(...tok.encode(t), tok.sepId);
    const stream = Uint16Array.from(ids);
    const n = Math.min(blockCount(stream.length, seqLen), opts.maxSequences ?? Infinity);
    if (n < 1) throw new FtgeoError(`maskedTokenAccuracy: ${stream.length} tokens of text, less than one sequence of ${seqLen}`);
    const batches = makeEvalBatches(stream, n, seqLen, loaded.config.vocab_size, mlmSpecialIds(tok), new Rng(opts.seed ?? 0));
    const r = evaluateMlm(loaded.model, head, batches);
    head.dispose();
    return { ...r, predictions: batches.reduce((s, b) => s + b.labels.length, 0), sequences: n };
  } finally {
    loaded.model.dispose();
  }
}
