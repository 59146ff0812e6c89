import type { Page } from "@playwright/test";

/** Text elements whose contrast with their effective background is below `min` (WCAG ratio). */
export async function lowContrast(page: Page, selectors: string[], min = 4.5): Promise<string[]> {
  return page.evaluate(
    ({ selectors, min }) => {
      const parse = (color: string): [number, number, number, number] => {
        const m = color.match(/rgba?\(([^)]+)\)/);
        if (!m) return [0, 0, 0, 0];
        const parts = m[1]!.split(/[ ,/]+/).filter(Boolean).map(Number);
        return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
      };
      const luminance = ([r, g, b]: number[]) => {
        const channel = (v: number) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
      };
      const background = (element: Element): number[] => {
        for (let node: Element | null = element; node; node = node.parentElement) {
          const color = parse(getComputedStyle(node).backgroundColor);
          if (color[3] > 0.5) return color;
        }
        return parse(getComputedStyle(document.body).backgroundColor);
      };
      const failures: string[] = [];
      for (const selector of selectors) {
        for (const element of Array.from(document.querySelectorAll(selector)).slice(0, 20)) {
          const box = element.getBoundingClientRect();
          if (!box.width || !box.height || !(element.textContent ?? "").trim()) continue;
          const fg = parse(getComputedStyle(element).color);
          const bg = background(element);
          const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a) as [number, number];
          const ratio = (light + 0.05) / (dark + 0.05);
          if (ratio < min) failures.push(`${selector} "${(element.textContent ?? "").trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
        }
      }
      return failures;
    },
    { selectors, min },
  );
}

/** Visible form controls without an accessible name. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("input, select, textarea, button"))
      .filter((element) => {
        const box = element.getBoundingClientRect();
        if (!box.width || !box.height) return false;
        const control = element as HTMLInputElement;
        if (control.type === "hidden") return false;
        const named = (control.labels?.length ?? 0) > 0 || control.getAttribute("aria-label") || control.getAttribute("aria-labelledby") || control.getAttribute("title");
        const text = element.tagName === "BUTTON" && (element.textContent ?? "").trim();
        return !named && !text;
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  );
}

export const TEXT_SELECTORS = [".nav-section", ".nav a", ".brand-sub", ".muted", ".field-hint", ".stat-label", ".stat-sub", ".card-description", ".page-description", ".table th", ".legend", ".breadcrumb", ".pill", ".theme-toggle button", ".btn", ".btn-primary", ".banner", ".alert", "a.row-link", ".tag"];
