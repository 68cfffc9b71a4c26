/** Notebook helpers for the tslab kernel: charts, tables, progress, budget. */
export * from "./display";
export * from "./chart";
export * from "./table";
export * from "./progress";
export * from "./budget";
