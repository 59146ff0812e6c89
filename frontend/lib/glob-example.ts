// A concrete model name a routing rule's glob pattern matches, for "Test this rule".

/** `gpt-4.1-*` -> `gpt-4.1-example`, `claude-?-x` -> `claude-1-x`, `[ab]*` -> `aexample`; a
 * pattern without wildcards is its own example. */
export function exampleModel(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === "*") {
      out += out === "" || /[-_.:/]$/.test(out) ? "example" : "-example";
    } else if (char === "?") {
      out += "1";
    } else if (char === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        out += char;
        continue;
      }
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith("!");
      const choices = negated ? "" : body.replace(/^(.)-.*/, "$1");
      out += negated ? "z" : choices[0] ?? "a";
      i = end;
    } else {
      out += char;
    }
  }
  return out.replace(/--+/g, "-");
}

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}
