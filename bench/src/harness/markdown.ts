/** A Markdown table of `rows` (the first is the header): the first column left-aligned, the others right-aligned. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** `n` rounded, with thousands separators: `12,345`. */
export function formatNumber(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Figures by side as text: `raw 1,024, waffle 980`. */
export function bySide(figures: Iterable<readonly [string, number]>): string {
  return [...figures].map(([side, n]) => `${side} ${formatNumber(n)}`).join(', ');
}
