#!/usr/bin/env node
/**
 * Writes test/fixtures/tokenizer/reference.json: the ids Hugging Face's Rust tokenizers (npm `tokenizers`, the
 * engine of BertTokenizerFast) gives for the tricky strings of test/tokenize-samples.ts, alone and in context,
 * with the bert-base-uncased vocabulary of models/vocab. Run after `npm run build`:
 *   node scripts/make-tokenizer-fixture.js
 * The tests read the fixture without the native package; test/tokenize-reference.test.ts checks it is current.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const { hfBertTokenizer, hfEncodeAll } = require(path.join(root, "dist/test/tokenize-hf-reference.js"));
const { TRICKY_STRINGS, inContext } = require(path.join(root, "dist/test/tokenize-samples.js"));
const { writeFileAtomic } = require(path.join(root, "dist/lib/util/atomic.js"));

async function main() {
  const vocab = path.join(root, "models/vocab/bert-base-uncased-vocab.txt");
  const texts = [...TRICKY_STRINGS, ...TRICKY_STRINGS.map(inContext)];
  const ids = await hfEncodeAll(hfBertTokenizer(vocab), texts);
  const version = require(path.join(root, "node_modules/tokenizers/package.json")).version;
  const out = path.join(root, "test/fixtures/tokenizer/reference.json");
  const head = {
    description:
      "Token ids (no [CLS]/[SEP]) from Hugging Face's Rust tokenizers for bert-base-uncased (BertNormalizer lowercase + strip accents + CJK + clean text, BertPreTokenizer, WordPiece ## / [UNK] / 100 characters), made by scripts/make-tokenizer-fixture.js",
    reference: `npm tokenizers@${version}`,
    vocab: "models/vocab/bert-base-uncased-vocab.txt",
  };
  // One case per line keeps the file reviewable in diffs.
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const cases = texts.map((text, i) => `    ${JSON.stringify({ text, ids: ids[i] })}`);
  writeFileAtomic(out, `{\n${lines.join("\n")}\n  "cases": [\n${cases.join(",\n")}\n  ]\n}\n`);
  console.log(`wrote ${texts.length} cases to ${path.relative(root, out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
