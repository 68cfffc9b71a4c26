/**
 * Commands with sub-commands (`ftgeo probe <name>`, `ftgeo bench <name>`): every module in lib/cli/<group>/ is a
 * sub-command named after its file and exports summary, usage and run(argv), like a command. Modules load lazily,
 * and adding one needs no registry edit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "./main";
import { FtgeoError } from "../util/errors";

export interface SubcommandGroup extends Command {
  subcommands: true;
  available(): string[];
  /** The module of one sub-command; throws naming the sub-commands there are when there is none of that name. */
  load(name: string): Command;
  helpText(): string;
}

/**
 * @param group folder name under lib/cli and the command's name (e.g. "bench")
 * @param noun what one sub-command is called in messages (e.g. "benchmark")
 * @param first sub-commands listed first, in this order; the others follow alphabetically
 */
export function subcommandGroup(group: string, noun: string, summary: string, first: string[] = []): SubcommandGroup {
  const dir = path.join(__dirname, group);
  const available = (): string[] => {
    let names: string[] = [];
    try {
      names = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".js"))
        .map((f) => f.slice(0, -3));
    } catch {
      return [];
    }
    const rank = (n: string) => (first.includes(n) ? first.indexOf(n) : first.length);
    return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  };
  const load = (name: string): Command => {
    if (!available().includes(name)) {
      throw new FtgeoError(`unknown ${noun} ${JSON.stringify(name)}; expected one of: ${available().join(", ")} (see ftgeo ${group} --help)`);
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(path.join(dir, name)) as Command;
  };
  const helpText = (): string =>
    [
      `usage: ftgeo ${group} <${noun}> [options]     ftgeo ${group} <${noun}> --help`,
      "",
      `${noun}s:`,
      ...available().map((name) => `  ${name.padEnd(8)} ${load(name).summary}`),
    ].join("\n");
  return {
    summary,
    subcommands: true,
    available,
    load,
    helpText,
    get usage() {
      return `usage: ftgeo ${group} <${noun}> [options]\n\n${noun}s: ${available().join(", ")}\n  ftgeo ${group}${" ".repeat(Math.max(1, 22 - group.length))}list the ${noun}s\n  ftgeo ${group} help <${noun}>    the options of one ${noun}`;
    },
    async run(argv: string[]): Promise<number> {
      const [name, ...rest] = argv;
      if (!name || name === "--help" || name === "-h") {
        console.log(helpText());
        return 0;
      }
      if (name === "help") {
        if (rest[0] === undefined) console.log(helpText());
        else {
          const c = load(rest[0]);
          console.log(`${c.summary}\n\n${c.usage}`);
        }
        return 0;
      }
      const c = load(name);
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(`${c.summary}\n\n${c.usage}`);
        return 0;
      }
      return c.run(rest);
    },
  };
}
