"use client";

import { useEffect, useState } from "react";
import { applyThemeChoice, readThemeChoice, THEME_CHOICES, type ThemeChoice } from "@/lib/theme";

const LABELS: Record<ThemeChoice, string> = { system: "Auto", light: "Light", dark: "Dark" };

export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>("system");
  useEffect(() => setChoice(readThemeChoice()), []);
  const pick = (next: ThemeChoice) => {
    applyThemeChoice(next);
    setChoice(next);
  };
  return (
    <div className="theme-toggle" role="group" aria-label="Colour theme">
      {THEME_CHOICES.map((option) => (
        <button
          key={option}
          type="button"
          aria-pressed={choice === option}
          title={option === "system" ? "Follow the system's light or dark setting" : `Always ${option}`}
          onClick={() => pick(option)}
        >
          {LABELS[option]}
        </button>
      ))}
    </div>
  );
}
