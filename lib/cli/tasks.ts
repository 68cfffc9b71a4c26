/** `ftgeo tasks`: load the paper's tasks and print, per task and split, sentences, examples and distinct labels. */
import { optionHelp, parseCli, strArg, type OptionTable } from "../util/args";
import { argError } from "../util/errors";
import { listTasks, loadTask } from "../tasks/load";
import { taskStats, type TaskStats } from "../tasks/stats";

export const summary = "load the five tasks and print sentences / examples / labels per split";

export const options: OptionTable = [
  { name: "json", type: "boolean", help: "print JSON instead of a table" },
  { name: "task", type: "string", value: "NAME", multiple: true, help: "only this task (repeat, or give a comma-separated list)" },
  { name: "data", type: "string", value: "DIR", help: "data folder holding ud_ewt/, streusle/, trec/", default: "FTGEO_DATA or the repository's data/" },
];

export const usage = `usage: ftgeo tasks [--json] [--task NAME]... [--data DIR]

Loads every split of the paper's tasks (${listTasks()
  .map((t) => t.name)
  .join(", ")}) from the committed data and prints,
for each task and split, the number of sentences, examples and distinct labels, and the load time.

${optionHelp(options)}`;

export interface TasksReport {
  tasks: (TaskStats & { description: string; source: string })[];
  /** Wall-clock seconds to load (parse and build) the tasks above, all splits. */
  loadSeconds: number;
}

/** Load the named tasks (all by default) and measure how long that takes. */
export function tasksReport(names?: string[], dataDir?: string): TasksReport {
  const infos = listTasks();
  const wanted = names && names.length > 0 ? names : infos.map((t) => t.name);
  const start = process.hrtime.bigint();
  const tasks = wanted.map((name) => loadTask(name, { dataDir }));
  const loadSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    tasks: tasks.map((t) => ({ ...taskStats(t), description: infos.find((i) => i.name === t.name)?.description ?? "", source: t.source })),
    loadSeconds,
  };
}

export function formatTable(report: TasksReport): string {
  const header = ["task", "kind", "split", "sentences", "examples", "labels"];
  const rows: string[][] = [];
  for (const t of report.tasks) {
    for (const s of t.splits) rows.push([t.task, t.kind, s.split, fmt(s.sentences), fmt(s.examples), fmt(s.labels)]);
    rows.push([t.task, "", "(all)", "", "", `${t.labels}`]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = [false, false, false, true, true, true];
  const line = (r: string[]) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
  out.push("", `loaded ${report.tasks.length} task(s), every split, in ${report.loadSeconds.toFixed(2)} s`);
  return out.join("\n");
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, options, true);
  if (positionals.length > 0) throw argError(positionals[0], "unexpected argument (use --task NAME to pick tasks)");
  const names = ((values.task as string[] | undefined) ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  const dataDir = values.data === undefined ? undefined : strArg(values, "data");
  const report = tasksReport(names, dataDir);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatTable(report));
  return 0;
}
