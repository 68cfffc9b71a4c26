/**
 * One error type for everything a user can get wrong (files, arguments, data).
 * The message always names the place at fault and what was expected, so the CLI can print it as-is.
 */
export class FtgeoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FtgeoError";
  }
}

/** An error at a specific line of an input file: "path:line: what is wrong (expected ...)". */
export function fileError(file: string, line: number | undefined, problem: string): FtgeoError {
  return new FtgeoError(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
}

/** An error about a command-line or API argument. */
export function argError(name: string, problem: string): FtgeoError {
  return new FtgeoError(`argument ${name}: ${problem}`);
}
