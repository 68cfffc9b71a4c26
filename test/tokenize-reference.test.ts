/**
 * Our BertTokenizer against Hugging Face's Rust tokenizers (the implementation behind BertTokenizerFast) on every
 * word of EWT and TREC, on whole TREC questions, and on strings aimed at each tokenization rule.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { modelsDir } from "../lib/util/paths";
import { Rng } from "../lib/util/rng";
import { hfBertTokenizer, hfEncodeAll } from "./tokenize-hf-reference";
import * as fs from "node:fs";
import { TRICKY_STRINGS, ewtWords, inContext, trecWords } from "./tokenize-samples";

const VOCAB = path.join(modelsDir(), "vocab", "bert-base-uncased-vocab.txt");

async function compare(label: string, texts: string[]): Promise<void> {
  const ours = BertTokenizer.fromVocabFile(VOCAB);
  const ref = await hfEncodeAll(hfBertTokenizer(VOCAB), texts);
  const mismatches: string[] = [];
  texts.forEach((t, i) => {
    const got = ours.encode(t);
    if (got.join(" ") !== ref[i].join(" ")) {
      mismatches.push(`${JSON.stringify(t)}: ours [${got.map((id) => ours.tokenOf(id)).join(" ")}] reference [${ref[i].map((id) => ours.tokenOf(id)).join(" ")}]`);
    }
  });
  console.log(`# ${label}: ${texts.length} strings compared, ${mismatches.length} mismatches`);
  assert.equal(mismatches.length, 0, `${label}: ${mismatches.length} of ${texts.length} differ:\n${mismatches.slice(0, 20).join("\n")}`);
}

test("every distinct EWT and TREC word tokenizes as Hugging Face's tokenizer does", async () => {
  const all = [...ewtWords(), ...trecWords()];
  const distinct = [...new Set(all)];
  assert.ok(all.length > 250_000, `expected the full EWT + TREC word lists, got ${all.length} words`);
  console.log(`# ${all.length} words in EWT + TREC, ${distinct.length} distinct`);
  await compare("EWT+TREC distinct words", distinct);
});

test("tricky strings (accents, sigma, CJK, emoji, control and format characters, long words, scripts)", async () => {
  await compare("tricky strings", TRICKY_STRINGS);
  // Each tricky string also inside a sentence and glued to neighbours, so boundaries are exercised.
  await compare("tricky strings in context", TRICKY_STRINGS.map(inContext));
});

/**
 * Where the reference is out of date: the Rust tokenizers classify characters with an old Unicode table (crate
 * unicode_categories), while Python's BertTokenizer uses unicodedata (Unicode 14 in Python 3.11) and we use the
 * current Unicode of Node's ICU. Checked by hand against Python's unicodedata.category:
 * U+FFFE, U+FFFF, U+10FFFF are Cn (removed by text cleaning); U+2E52 (Unicode 13) is Po (split off);
 * U+1F10D (Unicode 13) is So (a letter-like symbol missing from the vocabulary: its word becomes [UNK]).
 */
test("characters newer than the reference's Unicode tables follow Python's unicodedata", () => {
  const tok = BertTokenizer.fromVocabFile(VOCAB);
  assert.deepEqual(tok.tokenize("\u{10FFFF}\uFFFE\uFFFF"), []);
  assert.deepEqual(tok.tokenize("a\uFFFEb"), ["ab"]);
  assert.deepEqual(tok.tokenize("\u2E3Anew\u2E52punct\u{1F10D}"), ["[UNK]", "new", "[UNK]", "[UNK]"]);
  assert.deepEqual(tok.tokenize("new\u2E52"), ["new", "[UNK]"]);
});

test("whole TREC questions as running text", async () => {
  const questions: string[] = [];
  const words = trecWords();
  for (let i = 0; i < words.length; i += 9) questions.push(words.slice(i, i + 9).join(" "));
  await compare("TREC text chunks", questions);
});

/**
 * Random strings mixing ASCII with characters from many scripts and symbol blocks (seeded). Unassigned code points
 * are left out: Python's BertTokenizer and we remove them (category Cn), the Rust reference keeps them. So are
 * characters newer than the reference's tables: the supplementary blocks are old ones (Linear B, mathematical
 * letters, CJK extension B, tags, private use) and U+061D (Unicode 14 punctuation) is excluded.
 */
test("seeded random multi-script strings", async () => {
  const rng = new Rng(20261122);
  const blocks: [number, number][] = [
    [0x00, 0x7f], [0x80, 0x24f], [0x250, 0x36f], [0x370, 0x52f], [0x590, 0x6ff], [0x900, 0x97f], [0x1e00, 0x1fff],
    [0x2000, 0x206f], [0x2070, 0x2bff], [0x3000, 0x30ff], [0x4e00, 0x4e50], [0xac00, 0xac50], [0xf900, 0xfaff],
    [0xfb00, 0xfffd], [0x1f300, 0x1f6ff], [0x10000, 0x100ff], [0x1d400, 0x1d7ff], [0x20000, 0x2a6df],
    [0xe0000, 0xe007f], [0xf0000, 0xf00ff],
  ];
  const filler = "abcdefghij ,.ABC";
  const texts: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    let s = "";
    const n = 1 + rng.int(12);
    for (let j = 0; j < n; j++) {
      if (rng.next() < 0.4) {
        s += filler[rng.int(filler.length)];
        continue;
      }
      const [a, b] = blocks[rng.int(blocks.length)];
      const cp = a + rng.int(b - a + 1);
      const ch = String.fromCodePoint(cp);
      s += (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x61d || /\p{Cn}/u.test(ch) ? "x" : ch;
    }
    texts.push(s);
  }
  await compare("random multi-script strings", texts);
});

test("the committed fixture test/fixtures/tokenizer/reference.json is what the reference gives today", async () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "test", "fixtures", "tokenizer", "reference.json"), "utf8"));
  const texts: string[] = fixture.cases.map((c: { text: string }) => c.text);
  assert.deepEqual(texts, [...TRICKY_STRINGS, ...TRICKY_STRINGS.map(inContext)], "fixture is stale: run node scripts/make-tokenizer-fixture.js");
  const ref = await hfEncodeAll(hfBertTokenizer(VOCAB), texts);
  fixture.cases.forEach((c: { text: string; ids: number[] }, i: number) => assert.deepEqual(c.ids, ref[i], JSON.stringify(c.text)));
});
