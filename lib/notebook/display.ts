/**
 * Rich output from tslab notebook cells. tslab's public `display` sends one MIME type per message; a chart must
 * go out as ONE display_data carrying the Vega-Lite spec and its static SVG (the front end picks what it can
 * render, exports keep both), so this talks to the kernel's message writer directly.
 * Outside a kernel (plain node, the CLI, tests) there is no front end: the text/plain part is printed instead.
 */
import { randomBytes } from "node:crypto";
import { FtgeoError } from "../util/errors";

/** MIME type -> content: strings for text and SVG, objects for JSON types such as Vega-Lite. */
export type MimeBundle = Record<string, string | object>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (msg: DisplayMessage, update: boolean) => void;

/**
 * The running tslab kernel's display writer, or undefined outside a kernel. Looked up in the module cache rather
 * than required: requiring tslab outside a kernel would load a TypeScript compiler for nothing.
 */
let tslabJupyter: { lastWriteDisplayData?: unknown } | undefined;

function kernelWriter(): WriteDisplayData | undefined {
  if (!tslabJupyter) {
    for (const [file, mod] of Object.entries(require.cache)) {
      if (mod && /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) tslabJupyter = mod.exports as { lastWriteDisplayData?: unknown };
    }
  }
  // The writer changes with every executed cell (it carries the cell's message header): read it each time.
  const w = tslabJupyter?.lastWriteDisplayData;
  return typeof w === "function" ? (w as WriteDisplayData) : undefined;
}

/** True when running inside a tslab kernel that is executing a cell. */
export function inNotebook(): boolean {
  return kernelWriter() !== undefined;
}

export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

export interface DisplayOptions {
  /** Give a display an id to replace its content later with `update: true` (progress, live tables). */
  displayId?: string;
  /** Replace the content of the display with this id instead of adding a new output. */
  update?: boolean;
}

/** Sends one display_data (or update_display_data) message holding every MIME type of `bundle`. */
export function display(bundle: MimeBundle, opts: DisplayOptions = {}): void {
  if (Object.keys(bundle).length === 0) throw new FtgeoError("display: the MIME bundle is empty (expected at least one type, e.g. text/plain)");
  if (opts.update && opts.displayId === undefined) throw new FtgeoError("display: update: true needs the displayId of the output to replace");
  const write = kernelWriter();
  if (!write) {
    const text = bundle["text/plain"];
    if (typeof text === "string" && !opts.update) process.stdout.write(text.endsWith("\n") ? text : text + "\n");
    return;
  }
  write({ data: bundle, metadata: {}, transient: opts.displayId === undefined ? {} : { display_id: opts.displayId } }, opts.update === true);
}

/** Markdown text as a display (e.g. the conclusions of a notebook, computed from its results). */
export function showMarkdown(markdown: string): void {
  display({ "text/markdown": markdown, "text/plain": markdown });
}
