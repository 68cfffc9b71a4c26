/**
 * The independent reference for our tokenizer: Hugging Face's Rust `tokenizers` (npm `tokenizers`, devDependency),
 * configured exactly as bert-base-uncased's tokenizer.json (BertNormalizer with clean_text, CJK handling,
 * lowercase, strip_accents following lowercase; BertPreTokenizer; WordPiece "##", [UNK], 100 characters).
 */
import * as fs from "node:fs";
import { Tokenizer } from "tokenizers";

const SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** The tokenizer.json Hugging Face writes for an uncased BERT vocab.txt. */
export function bertTokenizerJson(vocabFile: string): string {
  const tokens = fs.readFileSync(vocabFile, "utf8").split("\n");
  if (tokens[tokens.length - 1] === "") tokens.pop();
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((t) => ({
      id: vocab[t],
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: null,
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  });
}

export function hfBertTokenizer(vocabFile: string): Tokenizer {
  return Tokenizer.fromString(bertTokenizerJson(vocabFile));
}

/** Reference ids (no [CLS]/[SEP]) of each text, in batches so the native side does the work. */
export async function hfEncodeAll(tok: Tokenizer, texts: string[], batch = 4096): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += batch) {
    const encs = await tok.encodeBatch(texts.slice(i, i + batch), { addSpecialTokens: false });
    for (const e of encs) out.push(e.getIds());
  }
  return out;
}
