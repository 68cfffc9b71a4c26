/**
 * Progress of long cells as one updating output per task (a bar plus step, loss, tokens/s, ETA), fed by the
 * library's Progress reporters through setDefaultProgressSink.
 */
import { formatProgress, setDefaultProgressSink, type ProgressEvent, type ProgressSink } from "../util/progress";
import { display, inNotebook, newDisplayId } from "./display";

export interface NotebookProgressOptions {
  /** At most one update per task this often (ms); the first and final events are always shown. Default 500. */
  intervalMs?: number;
}

export function progressHtml(e: ProgressEvent): string {
  const text = formatProgress(e).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const bar =
    e.total !== undefined && e.total > 0
      ? `<progress value="${Math.min(e.step, e.total)}" max="${e.total}" style="width:16em;vertical-align:middle"></progress> `
      : "";
  return `<div class="ftgeo-progress">${bar}<code>${text}</code></div>`;
}

/** A sink drawing each task's progress into its own output, updated in place. */
export function notebookProgressSink(opts: NotebookProgressOptions = {}): ProgressSink {
  const interval = opts.intervalMs ?? 500;
  const live = new Map<string, { id: string; last: number }>();
  return (e) => {
    const now = Date.now();
    let entry = live.get(e.task);
    const isNew = entry === undefined;
    if (!entry) {
      entry = { id: newDisplayId(), last: 0 };
      live.set(e.task, entry);
    }
    if (!isNew && !e.done && now - entry.last < interval) return;
    entry.last = now;
    display({ "text/html": progressHtml(e), "text/plain": formatProgress(e) }, { displayId: entry.id, update: !isNew });
    // A later run of the same task gets a fresh output below, instead of overwriting this finished one.
    if (e.done) live.delete(e.task);
  };
}

/**
 * In a notebook, routes every Progress reporter created without an explicit sink to an updating output.
 * Outside a notebook it leaves the default (throttled stderr lines) alone. Returns whether it switched.
 */
export function useNotebookProgress(opts: NotebookProgressOptions = {}): boolean {
  if (!inNotebook()) return false;
  setDefaultProgressSink(notebookProgressSink(opts));
  return true;
}

