/** Notebook helpers for the tslab kernel: charts, tables, progress, budget, and what the section notebooks share. */
export * from "./display";
export * from "./chart";
export * from "./table";
export * from "./progress";
export * from "./budget";
export * from "./section";
