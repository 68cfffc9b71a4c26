/** `ftgeo run <section>`: one of the paper's analyses (sections 4.1-4.5) headless, writing its results JSON. */
import { optionHelp, parseCli, strArg, type OptionTable } from "../util/args";
import { argError } from "../util/errors";
import { narrowBudget, resolveBudget } from "../analysis/budget";
import { exportResult, type SectionResult } from "../analysis/results";
import { findSection, SECTIONS, type SectionEntry } from "../analysis/sections";
import { fmtDuration, stderrSink } from "../util/progress";

export const summary = "run a paper section (4.1-4.5) headless and write its results JSON";

export const options: OptionTable = [
  {
    name: "budget",
    type: "string",
    value: "B",
    help: "quick: the embedded model, subsampled data, minutes; paper: the paper's five models (Hugging Face ids) and full settings",
    default: "quick",
  },
  { name: "model", type: "string", value: "M", help: "run on this model only (folder, Hugging Face id or random:<shape>)" },
  {
    name: "task",
    type: "string",
    value: "T",
    help: "run on this task only (pos, dep, ps-role, ps-fxn, trec50); 4.4 keeps its own tasks (fine-tune on ps-role and pos, probe ps-fxn)",
  },
  { name: "out", type: "string", value: "FILE", help: 'also write the results JSON here (with "all": one JSON object keyed by section)' },
  { name: "refresh", type: "boolean", help: "recompute the section's results (fine-tuning runs and cached vectors are still reused)" },
  { name: "quiet", type: "boolean", help: "no progress lines" },
];

export const usage = `usage: ftgeo run <section|all> [--budget quick|paper] [--model M] [--task T] [--out FILE] [--refresh] [--quiet]

Runs a section of Zhou & Srikumar (2022) end to end -- fine-tuning (shared runs under .cache/runs), extraction,
classifier probes, DirectProbe -- and writes its results JSON under .cache/results/<section>/<budget>/ (a second
run with the same settings reads it). Prints the findings computed from the numbers.

sections:
${SECTIONS.map((s) => `  ${s.id}  ${s.aliases[2].padEnd(12)} ${s.title}`).join("\n")}
  all                 every section in order

${optionHelp(options)}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, options, true);
  if (positionals.length !== 1) throw argError("<section>", `expected one section (4.1 .. 4.5 or all), got ${positionals.length ? positionals.join(" ") : "none"}`);
  const which: SectionEntry[] = positionals[0] === "all" ? SECTIONS : [findSection(positionals[0])];
  const budget = narrowBudget(resolveBudget(strArg(values, "budget", "quick")), {
    model: values.model as string | undefined,
    task: values.task as string | undefined,
  });
  const quiet = values.quiet === true;
  const progress = quiet ? () => {} : stderrSink(2000);
  const log = quiet ? () => {} : (line: string) => process.stderr.write(line + "\n");
  log(`budget ${budget.name}: models ${budget.models.map((m) => budget.modelNames[m] ?? m).join(", ")} (${budget.modelNote}); tasks ${budget.tasks.join(", ")}`);
  const results: Record<string, SectionResult> = {};
  for (const s of which) {
    const t0 = Date.now();
    const r = await s.run({ budget, refresh: values.refresh === true, progress, log });
    results[s.id] = r;
    console.log(`${s.title} (${budget.name} budget, ${r.meta.fromCache ? "read from" : `computed in ${fmtDuration((Date.now() - t0) / 1000)}, written to`} ${r.meta.file})`);
    for (const f of r.meta.findings) console.log(`  - ${f}`);
  }
  if (values.out) {
    const out = which.length === 1 ? results[which[0].id] : results;
    exportResult(out as SectionResult, String(values.out));
    console.log(`results written to ${values.out}`);
  }
  return 0;
}
