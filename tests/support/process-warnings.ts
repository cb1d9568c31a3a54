/** Node's own warning lines, as a process writes them to stderr: "(node:1234) [DEP0005] DeprecationWarning: …". */
const WARNING_LINE = /^\(node:\d+\) (?:\[\w+\] )?\w*Warning: .*$/gm;

/** The warning lines among what a child process wrote to stderr. */
export function warningLines(stderr: string): string[] {
  return stderr.match(WARNING_LINE) ?? [];
}

/** Throws, naming the process and quoting the lines, when its stderr holds a warning. */
export function assertNoWarnings(what: string, stderr: string): void {
  const lines = warningLines(stderr);
  if (lines.length > 0) throw new Error(`${what} wrote ${lines.length} process warning(s) to stderr:\n${lines.slice(0, 5).join('\n')}`);
}
