/**
 * Word samples for the tokenizer comparisons: every word form of the committed EWT and TREC files, and strings
 * chosen to exercise each rule of BERT's tokenizer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { dataDir } from "../lib/util/paths";

function readMaybeGz(file: string): Buffer {
  if (fs.existsSync(file)) return fs.readFileSync(file);
  if (fs.existsSync(file + ".gz")) return zlib.gunzipSync(fs.readFileSync(file + ".gz"));
  throw new Error(`${file}(.gz): missing; the tokenizer tests need the committed datasets under ${dataDir()}`);
}

/** FORM column of every word line (including multi-word tokens and empty nodes) of the EWT train/dev/test files. */
export function ewtWords(): string[] {
  const words: string[] = [];
  for (const split of ["train", "dev", "test"]) {
    const text = readMaybeGz(path.join(dataDir(), "ud_ewt", `en_ewt-ud-${split}.conllu`)).toString("utf8");
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const cols = line.split("\t");
      if (cols.length >= 2) words.push(cols[1]);
    }
  }
  return words;
}

/** Words of the TREC questions (the files are ISO-8859-1; the label is the first space-separated field). */
export function trecWords(): string[] {
  const words: string[] = [];
  for (const name of ["train_5500.label", "TREC_10.label"]) {
    const text = readMaybeGz(path.join(dataDir(), "trec", name)).toString("latin1");
    for (const line of text.split("\n")) {
      const parts = line.trim().split(" ");
      for (const w of parts.slice(1)) if (w !== "") words.push(w);
    }
  }
  return words;
}

/** Strings that exercise every rule: case, accents, sigma, CJK, emoji, control/format characters, lengths, scripts. */
export const TRICKY_STRINGS: string[] = [
  "UNwant\u00E9d,running",
  "H\u00E9llo",
  "H\u00C9LLO",
  "Hallo!how",
  " \tHeLLo!how  \n Are yoU?  ",
  "na\u00EFve caf\u00E9 r\u00E9sum\u00E9 co\u00F6perate",
  "\u0391\u0398\u0397\u039D\u0391 \u039F\u0394\u039F\u03A3 \u03A3\u0391\u03A3 \u03A3",
  "\u03C3\u03BF\u03C6\u03AF\u03B1 \u1F08\u03B8\u1FC6\u03BD\u03B1\u03B9",
  "ah\u535A\u63A8zz",
  "\u6211\u7231\u5317\u4EAC\u5929\u5B89\u95E8",
  "\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8",
  "\uD55C\uAD6D\uC5B4 \uD14D\uC2A4\uD2B8",
  "\uF900\uFA0E\u{2F800}\u{20000}x",
  "\u{1F600}\u{1F44D}\u{1F3FD} emoji\u{1F680}!",
  "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}",
  "zero\u200Bwidth soft\u00ADhyphen",
  "bi\u200Edi\u200Frect\u202Aion\u202C",
  "null\u0000byte re\uFFFDplacement",
  "bell\u0007tab\tform\u000Cfeed\u000Bvt",
  "\u001Cfs\u001Dgs\u001Ers\u001Fus",
  "line\u2028sep para\u2029sep nel\u0085x",
  "nbsp\u00A0here ideo\u3000space thin\u2009space",
  "\u00BFQu\u00E9? \u00A1Hola! \u00AB\u00BB \u2018quoted\u2019 \u201Cdouble\u201D \u2014 \u2026",
  "$100 ^_^ `tick` ~tilde| {brace} [bracket] <angle> @at #hash %pct &amp *star +plus =eq \\back/",
  "!!!???...,,,;;;:::---",
  "a" + "b".repeat(99),
  "a" + "b".repeat(100),
  "x".repeat(100) + "!" + "y".repeat(101),
  "\u00E9".repeat(100),
  "e\u0301".repeat(60),
  "\u{1D400}\u{1D401}\u{1D402}",
  "\u0645\u0631\u062D\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u0627\u0644\u0639\u064E\u0631\u064E\u0628\u0650\u064A\u064E\u0651\u0629",
  "\u0928\u092E\u0938\u094D\u0924\u0947 \u0926\u0941\u0928\u093F\u092F\u093E \u0939\u093F\u0928\u094D\u0926\u0940",
  "\u05E9\u05B8\u05C1\u05DC\u05D5\u05B9\u05DD",
  "\u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35",
  "\u0417\u0414\u0420\u0410\u0412\u0421\u0422\u0412\u0423\u0419 \u041C\u0418\u0420 \u0401\u0416",
  "\u0130stanbul \u0131\u015F\u0131k \u00DF\u1E9E \uFB01 \u212B \u2126 \u212A",
  "\u01C4\u01C5\u01C6 \u1E9B\u0323",
  "\u037E \u0387 \u1FEF \u1FFD \u1FEE",
  "[CLS] hello [SEP] [MASK] [mask] [UNK]x [PAD]",
  "a[MASK]b",
  "\u0301\u0302",
  "\u200B",
  "",
  "   ",
  "don't can't I'm o'clock",
  "e-mail U.S.A. 3.14 1,000,000 20:30 2020-01-01",
  "http://www.example.com/a_b?c=d&e=f",
  "\u2160\u2161 \u00BD \u00B2 \u2460 \uFF21\uFF22\uFF23 \uFF01",
  "\u{E0001}\u{E0041}tag \uE000private \u{F0000}",
  "\uD800lone \uDFFFsurrogates",
];

/** A string inside a sentence and glued to neighbours, so word boundaries around it are exercised too. */
export function inContext(s: string): string {
  return `Before ${s}after, x${s}y.`;
}
