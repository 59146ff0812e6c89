"use client";

import { useApi } from "@/lib/use-api";
import type { ProviderPreset } from "@/lib/api/types";
import { SelectField } from "./ui";

/** On provider create: pick an OpenAI-compatible host's preset to fill the form. */
export function ProviderPresetPicker({ value, onPick }: { value: string; onPick: (preset: ProviderPreset | null) => void }) {
  const presets = useApi<ProviderPreset[]>("/provider-presets");
  const list = presets.data ?? [];
  return (
    <SelectField
      label="Preset"
      value={value}
      onChange={(e) => onPick(list.find((p) => p.name === e.target.value) ?? null)}
      hint="Fills type, base URL, capabilities and the host's quirks (fields it refuses are dropped)."
    >
      <option value="">None</option>
      {list.map((p) => (
        <option key={p.name} value={p.name}>
          {p.label}
        </option>
      ))}
    </SelectField>
  );
}
