import type { Split, Task, TaskKind } from "./types";

/**
 * Collects string labels while examples are created and gives each a provisional number, so that examples are
 * allocated once (EWT has 400k of them); finish() sorts the inventory and renumbers the examples in place.
 */
export class LabelIndexer {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];

  id(label: string): number {
    let id = this.ids.get(label);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(label, id);
      this.names.push(label);
    }
    return id;
  }

  /**
   * The sorted label inventory (plain code-unit order, so it does not depend on the locale); rewrites every
   * example's provisional label to its index in that inventory.
   */
  finish(splits: Iterable<Split>): string[] {
    const labels = [...this.names].sort();
    const remap = new Int32Array(this.names.length);
    this.names.forEach((name, provisional) => (remap[provisional] = labels.indexOf(name)));
    for (const split of splits) for (const ex of split.examples) ex.label = remap[ex.label];
    return labels;
  }
}

/** Assemble a Task from splits whose examples carry provisional labels from `indexer`. */
export function buildTask(name: string, kind: TaskKind, source: string, splitList: Split[], indexer: LabelIndexer): Task {
  const labels = indexer.finish(splitList);
  const splits: Record<string, Split> = {};
  for (const split of splitList) splits[split.name] = split;
  return { name, kind, labels, splits, source };
}

