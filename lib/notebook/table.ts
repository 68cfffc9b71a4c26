/** Tables in notebooks: rows of plain objects as an HTML table (with Markdown and plain-text alternatives). */
import { argError } from "../util/errors";
import { display } from "./display";

export type Row = Record<string, unknown>;

export interface TableOptions {
  /** Columns to show, in order; default: every key, in first-seen order. */
  columns?: string[];
  /** Decimal places of non-integer numbers; default 3. */
  digits?: number;
  caption?: string;
  /** At most this many rows are shown (the rest are counted in a note); default 50. */
  maxRows?: number;
}

interface Prepared {
  columns: string[];
  numeric: boolean[];
  cells: string[][];
  hidden: number;
}

function prepare(rows: readonly Row[], opts: TableOptions): Prepared {
  if (!Array.isArray(rows)) throw argError("rows", "expected an array of objects");
  rows.forEach((r, i) => {
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw argError(`rows[${i}]`, `expected an object (column -> value), got ${JSON.stringify(r)}`);
  });
  const digits = opts.digits ?? 3;
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw argError("options.digits", `expected an integer in 0..20, got ${digits}`);
  const maxRows = opts.maxRows ?? 50;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw argError("options.maxRows", `expected a positive integer, got ${maxRows}`);
  const columns = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const shown = rows.slice(0, maxRows);
  const numeric = columns.map((c) => shown.length > 0 && shown.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === "number"));
  const cells = shown.map((r) => columns.map((c) => formatCell(r[c], digits)));
  return { columns, numeric, cells, hidden: rows.length - shown.length };
}

export function formatCell(v: unknown, digits: number): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return v.toFixed(digits);
  }
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  return JSON.stringify(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function tableHtml(rows: readonly Row[], opts: TableOptions = {}): string {
  const t = prepare(rows, opts);
  const align = (i: number) => (t.numeric[i] ? ' style="text-align:right"' : ' style="text-align:left"');
  const out: string[] = ['<table class="ftgeo-table">'];
  if (opts.caption !== undefined) out.push(`<caption style="caption-side:top;text-align:left;font-weight:bold">${escapeHtml(opts.caption)}</caption>`);
  out.push("<thead><tr>" + t.columns.map((c, i) => `<th${align(i)}>${escapeHtml(c)}</th>`).join("") + "</tr></thead>");
  out.push("<tbody>");
  for (const row of t.cells) out.push("<tr>" + row.map((v, i) => `<td${align(i)}>${escapeHtml(v)}</td>`).join("") + "</tr>");
  out.push("</tbody></table>");
  if (t.hidden > 0) out.push(`<p><em>${t.hidden} more row${t.hidden === 1 ? "" : "s"} not shown</em></p>`);
  return out.join("\n");
}

export function tableMarkdown(rows: readonly Row[], opts: TableOptions = {}): string {
  const t = prepare(rows, opts);
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, " ");
  const out: string[] = [];
  if (opts.caption !== undefined) out.push(`**${esc(opts.caption)}**`, "");
  out.push("| " + t.columns.map(esc).join(" | ") + " |");
  out.push("|" + t.numeric.map((n) => (n ? " ---: |" : " :--- |")).join(""));
  for (const row of t.cells) out.push("| " + row.map(esc).join(" | ") + " |");
  if (t.hidden > 0) out.push("", `_${t.hidden} more row${t.hidden === 1 ? "" : "s"} not shown_`);
  return out.join("\n");
}

/** Fixed-width text, for consoles and the CLI. */
export function tableText(rows: readonly Row[], opts: TableOptions = {}): string {
  const t = prepare(rows, opts);
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.cells.map((r) => r[i].length)));
  const pad = (s: string, i: number) => (t.numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const out: string[] = [];
  if (opts.caption !== undefined) out.push(opts.caption);
  out.push(t.columns.map(pad).join("  ").trimEnd());
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of t.cells) out.push(row.map(pad).join("  ").trimEnd());
  if (t.hidden > 0) out.push(`(${t.hidden} more row${t.hidden === 1 ? "" : "s"} not shown)`);
  return out.join("\n");
}

/** Shows rows as a table: one display with HTML, Markdown and plain text. */
export function showTable(rows: readonly Row[], opts: TableOptions = {}): void {
  display({ "text/html": tableHtml(rows, opts), "text/markdown": tableMarkdown(rows, opts), "text/plain": tableText(rows, opts) });
}
