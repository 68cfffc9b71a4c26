/**
 * Hand-checked cases for BertTokenizer, most taken from Hugging Face's own BertTokenizer tests
 * (tests/models/bert/test_tokenization_bert.py) and the rules of the original BERT tokenizer.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BertTokenizer } from "../lib/tokenize/wordpiece";
import { FtgeoError } from "../lib/util/errors";

/** The toy vocabulary of Hugging Face's tests, plus the special tokens BERT needs. */
const TOY = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",", "low", "lowest"];

test("WordPiece greedy longest match on Hugging Face's toy vocabulary", () => {
  const tok = BertTokenizer.fromVocab(TOY);
  assert.deepEqual(tok.tokenize(""), []);
  assert.deepEqual(tok.tokenize("unwanted running"), ["un", "##want", "##ed", "runn", "##ing"]);
  // Any unmatched remainder turns the whole word into one [UNK], not a partial match.
  assert.deepEqual(tok.tokenize("unwantedX running"), ["[UNK]", "runn", "##ing"]);
  assert.deepEqual(tok.encode("unwanted running"), [9, 6, 7, 10, 11]);
  assert.deepEqual(tok.encode("unwanted", { addSpecialTokens: true }), [1, 9, 6, 7, 2]);
});

test("basic tokenization: lower-casing, accents, whitespace, punctuation, CJK (real vocabulary)", () => {
  const tok = BertTokenizer.bertBaseUncased();
  assert.equal(tok.vocabSize, 30522);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 100, 101, 102, 103]);
  // "unwanted" is a whole entry of the real vocabulary (line 18163).
  assert.deepEqual(tok.tokenize("UNwant\u00E9d,running"), ["unwanted", ",", "running"]);
  assert.deepEqual(tok.encode("UNwant\u00E9d,running"), [18162, 1010, 2770]);
  assert.deepEqual(tok.tokenize(" \tHeLLo!how  \n Are yoU?  "), ["hello", "!", "how", "are", "you", "?"]);
  assert.deepEqual(tok.tokenize("H\u00E9llo"), ["hello"]);
  assert.deepEqual(tok.tokenize("H\u00E4LLo!how"), ["hall", "##o", "!", "how"]);
  assert.deepEqual(tok.tokenize("ah\u535A\u63A8zz"), ["ah", "\u535A", "[UNK]", "z", "##z"]); // \u63A8 is not in this vocabulary
  assert.deepEqual(tok.tokenize("ah\u535Azz"), ["ah", "\u535A", "z", "##z"]);
  // Control and format characters vanish without splitting the word; Unicode space separators split.
  assert.deepEqual(tok.tokenize("hel\u200Blo wor\u00ADld\u0007"), ["hello", "world"]);
  assert.deepEqual(tok.tokenize("a\u00A0b\u3000c\u2028d"), ["a", "b", "c", "d"]);
  assert.deepEqual(tok.tokenize("\u0000\uFFFD\u200B"), []);
  // Special tokens are kept whole and only when written exactly.
  assert.deepEqual(tok.tokenize("[CLS] x[MASK]y [mask]"), ["[CLS]", "x", "[MASK]", "y", "[", "mask", "]"]);
});

test("capital sigma lower-cases to sigma even at the end of a word", () => {
  const tok = BertTokenizer.bertBaseUncased();
  // String.prototype.toLowerCase would give "οδος" with a final sigma (ς, id 1172); BERT's fast tokenizer gives σ.
  const ids = tok.encode("\u03A3");
  assert.deepEqual(ids, [tok.idOf("\u03C3")]);
  const word = tok.tokenize("\u039F\u0394\u039F\u03A3");
  assert.ok(word.join("").includes("\u03C3") && !word.join("").includes("\u03C2"), `got ${word}`);
});

test("word length limit counts code points, not UTF-16 units", () => {
  const tok = BertTokenizer.bertBaseUncased();
  assert.notDeepEqual(tok.tokenize("a".repeat(100)), ["[UNK]"]);
  assert.deepEqual(tok.tokenize("a".repeat(101)), ["[UNK]"]);
  // 60 astral characters are 120 UTF-16 units but 60 code points: not too long (each is unknown -> one [UNK]).
  assert.deepEqual(tok.tokenize("\u{1D400}".repeat(60)), ["[UNK]"]);
  // The limit applies to each punctuation-split piece, not to the whitespace word.
  assert.deepEqual(tok.tokenize("a".repeat(60) + "," + "a".repeat(60)).filter((t) => t === "[UNK]"), []);
  const custom = BertTokenizer.fromVocab(TOY, { maxInputCharsPerWord: 3 });
  assert.deepEqual(custom.tokenize("wa want"), ["wa", "[UNK]"]);
});

test("cased options keep case and accents", () => {
  const vocab = [...TOY, "Want", "caf\u00E9", "cafe"];
  const cased = BertTokenizer.fromVocab(vocab, { lowercase: false });
  assert.deepEqual(cased.tokenize("Want caf\u00E9"), ["Want", "caf\u00E9"]);
  const uncased = BertTokenizer.fromVocab(vocab);
  assert.deepEqual(uncased.tokenize("Want caf\u00E9"), ["want", "cafe"]);
  const keepAccents = BertTokenizer.fromVocab(vocab, { stripAccents: false });
  assert.deepEqual(keepAccents.tokenize("CAF\u00C9"), ["caf\u00E9"]);
});

test("wordIds caches per word and agrees with encode", () => {
  const tok = BertTokenizer.bertBaseUncased();
  for (const w of ["running", "UNwant\u00E9d,running", "\u200B", "a b", "\u4E2D\u6587", "[SEP]"]) {
    assert.deepEqual([...tok.wordIds(w)], tok.encode(w));
    assert.equal(tok.wordIds(w), tok.wordIds(w));
  }
});

test("vocabulary errors name the file and the problem", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-vocab-"));
  const file = path.join(dir, "vocab.txt");
  fs.writeFileSync(file, "[PAD]\n[UNK]\nhello\n");
  assert.throws(() => BertTokenizer.fromVocabFile(file), (e: Error) => e instanceof FtgeoError && e.message.includes(file) && e.message.includes("[CLS]"));
  assert.throws(() => BertTokenizer.fromVocabFile(path.join(dir, "missing.txt")), /missing\.txt: cannot read/);
  fs.writeFileSync(file, "");
  assert.throws(() => BertTokenizer.fromVocabFile(file), /empty vocabulary/);
  // CRLF files load with the line endings removed.
  fs.writeFileSync(file, TOY.join("\r\n") + "\r\n");
  assert.deepEqual(BertTokenizer.fromVocabFile(file).tokenize("unwanted"), ["un", "##want", "##ed"]);
  fs.rmSync(dir, { recursive: true });
  const tok = BertTokenizer.fromVocab(TOY);
  assert.throws(() => tok.idOf("nope"), /not in the vocabulary/);
  assert.throws(() => tok.tokenOf(TOY.length), /argument id/);
});

test("model folder: tokenizer_config.json decides lower-casing", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-tokdir-"));
  fs.writeFileSync(path.join(dir, "vocab.txt"), [...TOY, "Want"].join("\n") + "\n");
  assert.deepEqual(BertTokenizer.fromModelDir(dir).tokenize("Want"), ["want"]);
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false }));
  assert.deepEqual(BertTokenizer.fromModelDir(dir).tokenize("Want"), ["Want"]);
  fs.rmSync(dir, { recursive: true });
});

test("the committed reference tokenizations (Hugging Face Rust tokenizers) of the tricky strings", () => {
  const tok = BertTokenizer.bertBaseUncased();
  const file = path.join(__dirname, "..", "..", "test", "fixtures", "tokenizer", "reference.json");
  const fixture = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.ok(fixture.cases.length >= 100, `${file}: expected the tricky strings alone and in context`);
  const bad = fixture.cases.filter((c: { text: string; ids: number[] }) => tok.encode(c.text).join(" ") !== c.ids.join(" "));
  assert.deepEqual(bad.map((c: { text: string }) => c.text), []);
});
