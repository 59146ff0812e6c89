// Small helpers to turn form strings into API values.

/** "" -> null; otherwise the number (NaN stays NaN so the API names the bad field). */
export function numberOrNull(value: string): number | null {
  const text = value.trim();
  if (text === "") return null;
  return Number(text);
}

export function numberText(value: number | null | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}

/** An object with the null/undefined entries left out, or undefined when nothing is left. */
export function compact<T extends Record<string, unknown>>(value: T): Partial<T> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null && item !== undefined && item !== "") out[key] = item;
  }
  return Object.keys(out).length ? (out as Partial<T>) : undefined;
}

/** Splits "a, b\nc" into ["a", "b", "c"]. */
export function listFromText(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Whether an API `param` belongs to one of the given field names or their children. */
export function paramIn(names: string[]): (param: string) => boolean {
  return (param) => names.some((name) => param === name || param.startsWith(`${name}.`) || param.startsWith(`${name}[`));
}
