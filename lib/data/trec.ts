/**
 * TREC question-classification label files (Li & Roth 2002): one question per line, "COARSE:fine word word ...",
 * e.g. "NUM:date When did Hawaii become a state ?". Words are already space-separated.
 */
import { fileError } from "../util/errors";
import { readDataBytes } from "./files";

export interface TrecQuestion {
  /** Coarse class, e.g. "NUM" (6 classes). */
  coarse: string;
  /** Fine class with its coarse prefix, e.g. "NUM:date" (50 classes): the TREC-50 label. */
  fine: string;
  words: string[];
  /** 1-based line number in the file. */
  line: number;
}

const LABEL = /^([A-Z]+):([a-z]+)$/;

/** Parse the text of a TREC label file; blank lines are skipped, anything else must be "COARSE:fine words". */
export function parseTrec(text: string, file: string): TrecQuestion[] {
  const lines = text.split("\n");
  const out: TrecQuestion[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const fields = line.split(/\s+/);
    const m = LABEL.exec(fields[0]);
    if (!m) {
      throw fileError(file, i + 1, `expected a label "COARSE:fine" followed by the question (e.g. "NUM:date When ...?"), got ${JSON.stringify(clip(line))}`);
    }
    if (fields.length < 2) throw fileError(file, i + 1, `label ${fields[0]} has no question after it (expected "COARSE:fine question words")`);
    out.push({ coarse: m[1], fine: fields[0], words: fields.slice(1), line: i + 1 });
  }
  return out;
}

/**
 * Decode the bytes of a TREC file. The files are ASCII except for one byte 0xF0 in train_5500.label line 66
 * ("sister<F0>city"), a damaged separator. Reading the bytes as Latin-1 keeps every line intact, and like the
 * Hugging Face loader we read that byte as a space so the question has the words "sister city".
 */
export function decodeTrec(bytes: Buffer): string {
  return bytes.toString("latin1").replace(/\u00f0/g, " ");
}

/** Read and parse a TREC label file (plain or .gz). */
export function readTrec(file: string): TrecQuestion[] {
  return parseTrec(decodeTrec(readDataBytes(file)), file);
}

function clip(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}
