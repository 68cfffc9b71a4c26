/**
 * The five sections by id, for the CLI and for notebooks that run "all": each entry runs its section under a
 * budget and returns its results (with meta.findings to print).
 */
import type { SectionOptions } from "./context";
import type { SectionId, SectionResult } from "./results";
import { runPerformance, TITLE_41 } from "./s41-performance";
import { runLinearity, TITLE_42 } from "./s42-linearity";
import { runSpatial, TITLE_43 } from "./s43-spatial";
import { runCrossTask, TITLE_44 } from "./s44-cross-task";
import { runLayers, TITLE_45 } from "./s45-layers";
import { argError } from "../util/errors";

export interface SectionEntry {
  id: SectionId;
  title: string;
  /** Other names the CLI accepts. */
  aliases: string[];
  run(opts: SectionOptions): Promise<SectionResult>;
}

export const SECTIONS: SectionEntry[] = [
  { id: "4.1", title: TITLE_41, aliases: ["41", "s41", "performance"], run: runPerformance },
  { id: "4.2", title: TITLE_42, aliases: ["42", "s42", "linearity"], run: runLinearity },
  { id: "4.3", title: TITLE_43, aliases: ["43", "s43", "spatial"], run: runSpatial },
  { id: "4.4", title: TITLE_44, aliases: ["44", "s44", "cross-task"], run: runCrossTask },
  { id: "4.5", title: TITLE_45, aliases: ["45", "s45", "layers"], run: runLayers },
];

/** A section by id or alias ("4.1", "s41", "performance", ...). */
export function findSection(name: string): SectionEntry {
  const s = SECTIONS.find((e) => e.id === name || e.aliases.includes(name.toLowerCase()));
  if (!s) {
    throw argError("<section>", `unknown section ${JSON.stringify(name)}; expected one of ${SECTIONS.map((e) => `${e.id} (${e.aliases[2]})`).join(", ")} or all`);
  }
  return s;
}
