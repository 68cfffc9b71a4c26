import { parseArgs } from "node:util";
import { argError } from "./errors";

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }>;

/** Parse CLI arguments strictly; unknown flags name themselves in the error. */
export function parseCli(argv: string[], options: OptionSpec, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: options as never, allowPositionals, strict: true }) as {
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
