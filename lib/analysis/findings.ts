/** Number formatting for the findings sentences computed from results. */

/** 0.8734 -> "87.34%"; signed: "+1.20 points". */
export function pct(x: number, signed = false): string {
  if (!Number.isFinite(x)) return String(x);
  if (signed) return `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)} points`;
  return `${(100 * x).toFixed(2)}%`;
}

export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

export function signed(x: number, digits = 3): string {
  return Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : String(x);
}

/** "3 of 4 tasks" (with a plural s on the noun when the total is not 1). */
export function countPhrase(k: number, n: number, noun: string): string {
  return `${k} of ${n} ${noun}${n === 1 ? "" : "s"}`;
}
