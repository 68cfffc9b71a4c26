/**
 * `ftgeo probe <name>`: probes of stored representations. Each probe lives in lib/cli/probe/<name>.ts and exports
 * summary, usage and run(argv), like a command; modules load lazily.
 */
import type { Command } from "./main";
import { FtgeoError } from "../util/errors";

const PROBES: Record<string, string> = {
  mlp: "./probe/mlp",
  direct: "./probe/direct",
};

function available(): string[] {
  return Object.keys(PROBES).filter((name) => {
    try {
      require.resolve(PROBES[name]);
      return true;
    } catch {
      return false;
    }
  });
}

function load(name: string): Command {
  if (!Object.prototype.hasOwnProperty.call(PROBES, name) || !available().includes(name)) {
    throw new FtgeoError(`unknown probe ${JSON.stringify(name)}; expected one of: ${available().join(", ")} (see ftgeo probe --help)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(PROBES[name]) as Command;
}

export const summary = "probe a model's layer: mlp (classifier probe), direct (DirectProbe)";

export function helpText(): string {
  return [
    "usage: ftgeo probe <probe> [options]     ftgeo probe <probe> --help",
    "",
    "probes:",
    ...available().map((name) => `  ${name.padEnd(8)} ${load(name).summary}`),
  ].join("\n");
}

// `ftgeo probe --help` prints this; `ftgeo probe X --help` reaches the probe itself (see run).
export const usage = `usage: ftgeo probe <probe> [options]

probes: ${available().join(", ")}
  ftgeo probe                 list the probes
  ftgeo probe help <probe>    the options of one probe`;

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
      const p = load(rest[0]);
      console.log(`${p.summary}\n\n${p.usage}`);
    }
    return 0;
  }
  const probe = load(name);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${probe.summary}\n\n${probe.usage}`);
    return 0;
  }
  return probe.run(rest);
}
