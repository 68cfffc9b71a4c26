/**
 * `ftgeo bench <name>`: throughput benchmarks. Each lives in lib/cli/bench/<name>.ts and exports summary, usage and
 * run(argv), like a command; modules load lazily. Benchmarks print ratios against a reference measured in the same
 * run (PyTorch when Debian's python3-torch is there), never pass/fail on absolute times.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "./main";
import { FtgeoError } from "../util/errors";

/**
 * Every module in ./bench/ is a benchmark named after its file (lib/cli/bench/<name>.ts), so adding one needs no
 * edit here. The listed ones come first, in this order; others follow alphabetically.
 */
const FIRST = ["encode", "train"];

function available(): string[] {
  const dir = path.join(__dirname, "bench");
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".js"))
      .map((f) => f.slice(0, -3));
  } catch {
    return [];
  }
  const rank = (n: string) => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function load(name: string): Command {
  if (!available().includes(name)) {
    throw new FtgeoError(`unknown benchmark ${JSON.stringify(name)}; expected one of: ${available().join(", ")} (see ftgeo bench --help)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(path.join(__dirname, "bench", name)) as Command;
}

export const summary = "benchmarks against references measured in the same run (encode, train, ...)";

export function helpText(): string {
  return [
    "usage: ftgeo bench <benchmark> [options]     ftgeo bench <benchmark> --help",
    "",
    "benchmarks:",
    ...available().map((name) => `  ${name.padEnd(8)} ${load(name).summary}`),
  ].join("\n");
}

// `ftgeo bench --help` prints this; `ftgeo bench X --help` reaches the benchmark itself (see run).
export const usage = `usage: ftgeo bench <benchmark> [options]

benchmarks: ${available().join(", ")}
  ftgeo bench                     list the benchmarks
  ftgeo bench help <benchmark>    the options of one benchmark`;

export const subcommands = true;

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.log(helpText());
    return 0;
  }
  if (name === "help") {
    if (rest[0] === undefined) console.log(helpText());
    else {
      const b = load(rest[0]);
      console.log(`${b.summary}\n\n${b.usage}`);
    }
    return 0;
  }
  const bench = load(name);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${bench.summary}\n\n${bench.usage}`);
    return 0;
  }
  return bench.run(rest);
}
