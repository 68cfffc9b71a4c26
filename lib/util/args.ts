import { parseArgs } from "node:util";
import { argError } from "./errors";

/**
 * One command-line option of a command. A command declares its options once, as a table of these: the parse spec
 * (parseCli) and the option lines of its help text (optionHelp) are both generated from it, so a flag cannot be
 * parsed without being documented, nor documented without being parsed.
 */
export type OptionDef = {
  /** The flag without its dashes: "max-steps" for --max-steps. */
  name: string;
  /** What the option does; optionHelp wraps it to the help text's width. */
  help: string;
  /** The default as the help shows it ("32", "the embedded model under models/"); the command applies it. */
  default?: string;
} & (
  | { type: "boolean" }
  | {
      type: "string";
      /** The value's placeholder in the help line: N, DIR, quick|full. */
      value: string;
      /** The flag may be repeated; its values arrive as a list. */
      multiple?: boolean;
    }
);

export type OptionTable = readonly OptionDef[];

/** The options argument of node's parseArgs. */
export type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/** node:util parseArgs's spec for a table; a name declared twice is the command's bug, reported as such. */
export function parseSpec(table: OptionTable): OptionSpec {
  const spec: OptionSpec = {};
  for (const o of table) {
    if (Object.hasOwn(spec, o.name)) throw new Error(`option table declares --${o.name} twice`);
    spec[o.name] = o.type === "string" && o.multiple ? { type: "string", multiple: true } : { type: o.type };
  }
  return spec;
}

/** Width of the help text (the hand-written prose of the usage texts keeps to it too). */
export const HELP_WIDTH = 116;
/** A flag with its placeholder longer than this gets its help on the lines below it (keeps the column narrow). */
const MAX_FLAG_WIDTH = 22;

/** The option lines of a help text: "  --name VALUE   help [default: X]", the help wrapped in a column of its own. */
export function optionHelp(table: OptionTable, width = HELP_WIDTH): string {
  const flags = table.map((o) => `  --${o.name}${o.type === "string" ? ` ${o.value}` : ""}`);
  const column = Math.max(0, ...flags.filter((f) => f.length <= MAX_FLAG_WIDTH).map((f) => f.length)) + 2;
  const indent = " ".repeat(column);
  const lines: string[] = [];
  table.forEach((o, i) => {
    // The default stays whole on one line: "[default: the embedded model under models/]" is read as one unit.
    const words = o.help.split(/\s+/).filter((w) => w !== "");
    if (o.default !== undefined) words.push(`[default: ${o.default}]`);
    const wrapped = wrapWords(words, width - column);
    if (flags[i].length + 2 > column) lines.push(flags[i]);
    else lines.push(flags[i].padEnd(column) + wrapped.shift());
    for (const rest of wrapped) lines.push(indent + rest);
  });
  return lines.map((l) => l.trimEnd()).join("\n");
}

/** Greedy word wrap; a word longer than the width stands alone on its line. */
function wrapWords(words: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/** Parse CLI arguments strictly against a command's option table; unknown flags name themselves in the error. */
export function parseCli(argv: string[], options: OptionTable, allowPositionals = false) {
  const spec = parseSpec(options);
  try {
    return parseArgs({ args: argv, options: spec, allowPositionals, strict: true }) as {
      values: Record<string, string | boolean | string[] | undefined>;
      positionals: string[];
    };
  } catch (e) {
    throw argError("(command line)", (e as Error).message);
  }
}

export function numArg(values: Record<string, unknown>, name: string, fallback?: number, opts: { int?: boolean; min?: number } = {}): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw argError(`--${name}`, "is required (a number)");
    return fallback;
  }
  const v = Number(raw);
  if (!Number.isFinite(v)) throw argError(`--${name}`, `expected a number, got ${JSON.stringify(raw)}`);
  if (opts.int && !Number.isInteger(v)) throw argError(`--${name}`, `expected an integer, got ${raw}`);
  if (opts.min !== undefined && v < opts.min) throw argError(`--${name}`, `expected at least ${opts.min}, got ${raw}`);
  return v;
}

export function strArg(values: Record<string, unknown>, name: string, fallback?: string): string {
  const raw = values[name];
  if (raw === undefined || raw === "") {
    if (fallback === undefined) throw argError(`--${name}`, "is required");
    return fallback;
  }
  return String(raw);
}
