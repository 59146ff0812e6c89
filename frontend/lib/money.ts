// USD amounts arrive as exact decimal strings; they are only rounded for display.

/** "$0.0012", "$12.50", "unknown" for a null cost. */
export function formatUsd(value: string | null | undefined, opts: { estimated?: boolean } = {}): string {
  if (value === null || value === undefined) return "unknown";
  const n = Number(value);
  if (!Number.isFinite(n)) return value;
  let text: string;
  if (n === 0) text = "$0.00";
  else if (Math.abs(n) >= 1) text = `$${n.toFixed(2)}`;
  else if (Math.abs(n) >= 0.01) text = `$${n.toFixed(4)}`;
  else {
    // Three significant digits, trailing zeros dropped: $0.0002, $0.0000308.
    const digits = Math.min(12, Math.ceil(-Math.log10(Math.abs(n))) + 2);
    text = `$${n.toFixed(digits).replace(/0+$/, "")}`;
  }
  return opts.estimated ? `≈${text}` : text;
}

/** Axis labels: short, in dollars. */
export function formatUsdAxis(n: number): string {
  if (n === 0) return "$0";
  if (n >= 100) return `$${n.toFixed(0)}`;
  if (n >= 1) return `$${n.toFixed(2)}`;
  return `$${Number(n.toPrecision(2))}`;
}
