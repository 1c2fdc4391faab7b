// Prints rows as a table of columns padded to their widest cell, as the docker CLI does.
/** Formats `rows` (the header first) as aligned columns, one line each. */
export function formatTable(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** Writes `rows` (the header first) to stdout as a table. */
export function printTable(rows: readonly string[][]): void {
  process.stdout.write(formatTable(rows));
}
