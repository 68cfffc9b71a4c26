/**
 * Tokenizer throughput on every word of EWT train (the per-word path the pipeline uses), against Hugging Face's Rust
 * tokenizers (npm `tokenizers`, a devDependency) on the same words in the same run.
 *   npm run build && node dist/bench/tokenize.js
 * Prints words/s and the ratio; ours is timed cold (fresh tokenizer, empty cache) and warm (cache filled).
 */
import * as path from "node:path";
import { readConllu } from "../lib/data/conllu";
import { resolveDataFile } from "../lib/data/files";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { dataDir, modelsDir } from "../lib/util/paths";

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  const file = resolveDataFile(path.join(dataDir(), "ud_ewt"), "en_ewt-ud-train.conllu");
  const words = readConllu(file).flatMap((s) => s.words.map((w) => w.form));
  const vocab = path.join(modelsDir(), "vocab", "bert-base-uncased-vocab.txt");

  let t = process.hrtime.bigint();
  const tok = BertTokenizer.fromVocabFile(vocab);
  const load = seconds(t);
  t = process.hrtime.bigint();
  let pieces = 0;
  for (const w of words) pieces += tok.wordIds(w).length;
  const cold = seconds(t);
  t = process.hrtime.bigint();
  for (const w of words) tok.wordIds(w);
  const warm = seconds(t);
  console.log(`EWT train: ${words.length} words, ${new Set(words).size} distinct, ${pieces} pieces`);
  console.log(`ours: vocabulary load ${(load * 1000).toFixed(0)} ms; all words cold ${(cold * 1000).toFixed(0)} ms (${(words.length / cold).toFixed(0)} words/s), warm ${(warm * 1000).toFixed(0)} ms`);

  let reference: typeof import("../test/tokenize-hf-reference");
  try {
    // The reference needs the devDependency `tokenizers`; a production install may not have it.
    reference = require("../test/tokenize-hf-reference");
  } catch (e) {
    console.log(`reference unavailable (${(e as Error).message.split("\n")[0]}); no ratio`);
    return;
  }
  const hf = reference.hfBertTokenizer(vocab);
  t = process.hrtime.bigint();
  let refPieces = 0;
  for (let i = 0; i < words.length; i += 4096) {
    for (const e of await hf.encodeBatch(words.slice(i, i + 4096), { addSpecialTokens: false })) refPieces += e.getIds().length;
  }
  const hfTime = seconds(t);
  console.log(`reference (Rust tokenizers, encodeBatch of 4096 words): ${(hfTime * 1000).toFixed(0)} ms (${(words.length / hfTime).toFixed(0)} words/s), ${refPieces} pieces`);
  console.log(`ratio ours cold / reference: ${(hfTime / cold).toFixed(1)}x faster`);
  console.log(JSON.stringify({ words: words.length, oursColdSeconds: cold, oursWarmSeconds: warm, referenceSeconds: hfTime, samePieceCount: pieces === refPieces }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
