/**
 * `ftgeo` command dispatcher. Each command lives in its own module under lib/cli/ and exports
 * `summary`, `usage` and `run(argv)`; modules are loaded lazily so `ftgeo tasks` does not pay for tfjs start-up.
 * A command declares its options once, as an OptionTable (lib/util/args): run() parses with it and the usage's
 * option lines are generated from it (test/cli-options checks that every command's help and parsing agree).
 */
import { FtgeoError } from "../util/errors";

export interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
  /** True for commands that dispatch to sub-commands (probe, bench) and answer their --help themselves. */
  subcommands?: boolean;
}

/** Command name -> module (relative to this folder). Keep in the order a user meets them. */
const COMMANDS: Record<string, string> = {
  tasks: "./tasks",
  finetune: "./finetune",
  extract: "./extract",
  probe: "./probe",
  pretrain: "./pretrain",
  run: "./run",
  bench: "./bench",
};

/** The module of a command; throws naming the commands there are when there is none of that name. */
export function loadCommand(name: string): Command {
  const mod = COMMANDS[name];
  if (!mod) {
    throw new FtgeoError(`unknown command ${JSON.stringify(name)}; expected one of: ${Object.keys(COMMANDS).join(", ")} (see ftgeo --help)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(mod) as Command;
}

/** The commands whose module is built, in the order a user meets them. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS).filter((name) => {
    try {
      require.resolve(COMMANDS[name]);
      return true;
    } catch {
      return false;
    }
  });
}

export function helpText(): string {
  const lines = [
    "ftgeo: how does fine-tuning change BERT? (Zhou & Srikumar, ACL 2022, in TypeScript)",
    "",
    "usage: ftgeo <command> [options]     ftgeo <command> --help",
    "",
    "commands:",
  ];
  for (const name of commandNames()) {
    lines.push(`  ${name.padEnd(10)} ${loadCommand(name).summary}`);
  }
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(helpText());
    return 0;
  }
  const cmd = loadCommand(name);
  // `ftgeo probe direct --help`: a help flag after a sub-command name belongs to the sub-command.
  const ownHelp = rest[0] === "--help" || rest[0] === "-h" || (!cmd.subcommands && (rest.includes("--help") || rest.includes("-h")));
  if (ownHelp) {
    console.log(`${cmd.summary}\n\n${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof FtgeoError) {
      console.error(`ftgeo ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
