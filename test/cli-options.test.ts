/**
 * Every command's --help lists exactly the options the command parses, and the option-table helpers (lib/util/args)
 * that make that hold by construction.
 *
 * "What a command parses" is taken from node's parseArgs itself, not from the command's option table: the check
 * runs each command with node:util's parseArgs replaced by a spy that records the options it is handed and stops
 * the command there. So a command that parsed a hand-written spec beside its table would still be caught.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import util = require("node:util");
import { commandNames, loadCommand, type Command } from "../lib/cli/main";
import { HELP_WIDTH, optionHelp, parseCli, parseSpec, type OptionTable } from "../lib/util/args";
import { FtgeoError } from "../lib/util/errors";

/** The option names a command hands to parseArgs when it runs (every command parses before doing any work). */
async function parsedOptions(cmd: Command): Promise<string[]> {
  const original = util.parseArgs;
  let seen: string[] | undefined;
  const stop = new Error("options recorded; stop the command here");
  (util as { parseArgs: unknown }).parseArgs = (config: { options?: Record<string, unknown> }) => {
    seen = Object.keys(config.options ?? {});
    throw stop;
  };
  try {
    await cmd.run([]);
  } catch {
    // The stop error (wrapped by parseCli into a usage error) or the command's own complaint; `seen` tells which.
  } finally {
    util.parseArgs = original;
  }
  assert.ok(seen !== undefined, "the command calls parseArgs before anything else");
  return seen;
}

/** The help as `ftgeo <command> --help` prints it. */
const helpOf = (cmd: Command) => `${cmd.summary}\n\n${cmd.usage}`;

/** Options with a help line of their own: an indented line that starts with the flag. */
function documented(help: string): string[] {
  return help
    .split("\n")
    .map((line) => /^ {2,}--([a-z][a-z0-9-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Every flag the help names anywhere: synopsis, prose or option lines. */
function mentioned(help: string): string[] {
  return [...new Set([...help.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]))];
}

interface Group {
  available(): string[];
  load(name: string): Command;
}

/** [label, command] for every command main registers, and for every sub-command of a group (probe, bench). */
function everyCommand(): [string, Command][] {
  const out: [string, Command][] = [];
  for (const name of commandNames()) {
    const cmd = loadCommand(name);
    if (!cmd.subcommands) out.push([name, cmd]);
    else for (const sub of (cmd as unknown as Group).available()) out.push([`${name} ${sub}`, (cmd as unknown as Group).load(sub)]);
  }
  return out;
}

test("the CLI registers the commands and sub-commands this test walks", () => {
  const labels = everyCommand().map(([label]) => label);
  for (const expected of ["tasks", "finetune", "extract", "pretrain", "run", "probe mlp", "probe direct", "bench encode", "bench train", "bench probe", "bench direct"]) {
    assert.ok(labels.includes(expected), `${expected} among ${labels.join(", ")}`);
  }
});

for (const [label, cmd] of everyCommand()) {
  test(`ftgeo ${label} --help documents every option it parses, names no option it does not parse, fits the width`, async () => {
    const parsed = await parsedOptions(cmd);
    const help = helpOf(cmd);
    const lines = documented(help);
    assert.deepEqual(
      parsed.filter((name) => !lines.includes(name)).map((n) => `--${n}`),
      [],
      `options ftgeo ${label} parses without a help line`,
    );
    assert.deepEqual(
      mentioned(help)
        .filter((name) => !parsed.includes(name))
        .map((n) => `--${n}`),
      [],
      `options the help of ftgeo ${label} names but the command does not parse`,
    );
    assert.equal(new Set(lines).size, lines.length, `one help line per option: ${lines.join(", ")}`);
    // The generated option lines keep to HELP_WIDTH; the hand-written prose around them should too.
    for (const line of help.split("\n")) assert.ok(line.length <= HELP_WIDTH, `wider than ${HELP_WIDTH}: ${line}`);
  });
}

test("a command group's own help names no option (its sub-commands parse them)", () => {
  for (const name of commandNames()) {
    const cmd = loadCommand(name);
    if (cmd.subcommands) assert.deepEqual(mentioned(helpOf(cmd)), [], name);
  }
});

const table: OptionTable = [
  { name: "task", type: "string", value: "NAME", multiple: true, help: "only this task (repeat)" },
  { name: "json", type: "boolean", help: "print JSON" },
  { name: "batch", type: "string", value: "N", help: "sentences per update", default: "32" },
  { name: "sinusoidal-positions", type: "boolean", help: "a flag too long for the column" },
  {
    name: "model",
    type: "string",
    value: "M",
    help: "model folder, hub id or random:<shape>; a help text long enough to need a second line at the default help width",
    default: "the embedded model under models/",
  },
];

test("parseSpec: node's parseArgs spec of a table, repeated flags as lists; a name declared twice is refused", () => {
  assert.deepEqual(parseSpec(table), {
    task: { type: "string", multiple: true },
    json: { type: "boolean" },
    batch: { type: "string" },
    "sinusoidal-positions": { type: "boolean" },
    model: { type: "string" },
  });
  assert.throws(() => parseSpec([...table, { name: "json", type: "boolean", help: "again" }]), /--json twice/);
});

test("parseCli with a table: values by name, repeated values as a list, unknown flags and missing values name themselves", () => {
  const { values, positionals } = parseCli(["--task", "pos", "--task", "dep", "--json", "--batch", "8", "x"], table, true);
  assert.deepEqual({ ...values }, { task: ["pos", "dep"], json: true, batch: "8" });
  assert.deepEqual(positionals, ["x"]);
  assert.throws(
    () => parseCli(["--nope"], table),
    (e: unknown) => e instanceof FtgeoError && e.message.startsWith("argument (command line):") && e.message.includes("--nope"),
  );
  assert.throws(() => parseCli(["--batch"], table), (e: unknown) => e instanceof FtgeoError && e.message.includes("--batch"));
  assert.throws(() => parseCli(["x"], table), FtgeoError, "positionals only when allowed");
});

test("optionHelp: one aligned column, defaults kept whole, long flags on a line of their own, lines within the width", () => {
  const lines = optionHelp(table, 60).split("\n");
  assert.deepEqual(lines, [
    "  --task NAME  only this task (repeat)",
    "  --json       print JSON",
    "  --batch N    sentences per update [default: 32]",
    "  --sinusoidal-positions",
    "               a flag too long for the column",
    // 60 - 15 columns = 45 for the help: adding " help" would make the first line 46 long.
    "  --model M    model folder, hub id or random:<shape>; a",
    "               help text long enough to need a second line",
    "               at the default help width",
    "               [default: the embedded model under models/]",
  ]);
  for (const line of optionHelp(table).split("\n")) assert.ok(line.length <= HELP_WIDTH, line);
});
