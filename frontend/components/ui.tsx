"use client";

import { useEffect, useId, useState, type ReactNode, type InputHTMLAttributes, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";
import { ApiError, errorMessage } from "@/lib/api/client";

export const APP_TITLE = "RouterX Console";

/** Each page's own document title, "<page> · RouterX Console". */
export function useDocumentTitle(title: string) {
  useEffect(() => {
    const wanted = title ? `${title} · ${APP_TITLE}` : APP_TITLE;
    document.title = wanted;
    // The router writes the layout's default title after a navigation settles: put ours back.
    const observer = new MutationObserver(() => {
      if (document.title !== wanted) document.title = wanted;
    });
    observer.observe(document.head, { subtree: true, childList: true, characterData: true });
    return () => observer.disconnect();
  }, [title]);
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description ? <p className="page-description">{description}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Card({ title, description, actions, children, className, id }: {
  title?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  const headingId = useId();
  return (
    <section className={`card ${className ?? ""}`} aria-labelledby={title ? headingId : undefined} id={id}>
      {title || actions ? (
        <div className="card-header">
          <div>
            {title ? <h2 id={headingId}>{title}</h2> : null}
            {description ? <p className="card-description">{description}</p> : null}
          </div>
          {actions ? <div className="card-actions">{actions}</div> : null}
        </div>
      ) : null}
      <div className="card-body">{children}</div>
    </section>
  );
}

const BREAKER_LABELS: Record<string, string> = {
  closed: "Closed",
  half_open: "Half-open",
  open: "Open",
};

export function BreakerPill({ state }: { state: string | null | undefined }) {
  const key = state ?? "unknown";
  const tone = key === "closed" ? "green" : key === "half_open" ? "amber" : key === "open" ? "red" : "gray";
  return <Pill tone={tone}>{BREAKER_LABELS[key] ?? (state || "Unknown")}</Pill>;
}

export type Tone = "green" | "amber" | "red" | "gray" | "blue" | "violet";

export function Pill({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`pill pill-${tone}`} title={title}>
      <span className="pill-dot" aria-hidden="true" />
      {children}
    </span>
  );
}

export function Tag({ children }: { children: ReactNode }) {
  return <span className="tag">{children}</span>;
}

export function StatusCode({ status }: { status: number }) {
  const tone: Tone = status >= 500 ? "red" : status >= 400 ? "amber" : status >= 200 && status < 300 ? "green" : "gray";
  return <Pill tone={tone}>{status}</Pill>;
}

export function Spinner({ label = "Loading" }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}

export function LoadingState({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading">
      <Spinner label={label} />
      <span>{label}</span>
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children ? <p className="state-text">{children}</p> : null}
      {action ? <div className="state-action">{action}</div> : null}
    </div>
  );
}

export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{title ?? (forbidden ? "Not available to your role" : "Could not load this")}</p>
      <p className="state-text">{errorMessage(error)}</p>
      {onRetry && !forbidden ? (
        <div className="state-action">
          <button type="button" className="btn" onClick={onRetry}>
            Try again
          </button>
        </div>
      ) : null}
    </div>
  );
}

export function Alert({ tone = "error", children, title }: { tone?: "error" | "warning" | "success" | "info"; children: ReactNode; title?: string }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === "error" ? "alert" : "status"}>
      {title ? <strong className="alert-title">{title}</strong> : null}
      <div>{children}</div>
    </div>
  );
}

/** Resource wrapper: loading, error and empty states, then the content. */
export function Loadable<T>({ data, error, loading, reload, children, empty }: {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload?: () => void;
  children: (data: T) => ReactNode;
  empty?: (data: T) => ReactNode | null;
}) {
  if (data === undefined) {
    if (error) return <ErrorState error={error} onRetry={reload} />;
    if (loading) return <LoadingState />;
    return <LoadingState />;
  }
  const emptyView = empty ? empty(data) : null;
  return (
    <>
      {error ? (
        <Alert tone="warning" title="Showing the last data">
          {errorMessage(error)}
        </Alert>
      ) : null}
      {emptyView ?? children(data)}
    </>
  );
}

interface FieldShellProps {
  label: string;
  hint?: ReactNode;
  error?: string;
  children: (ids: { id: string; describedBy: string | undefined }) => ReactNode;
  className?: string;
}

function FieldShell({ label, hint, error, children, className }: FieldShellProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field ${error ? "field-invalid" : ""} ${className ?? ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, describedBy })}
      {hint ? (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id"> & { label: string; hint?: ReactNode; error?: string; fieldClassName?: string };

export function TextField({ label, hint, error, fieldClassName, ...input }: InputProps) {
  return (
    <FieldShell label={label} hint={hint} error={error} className={fieldClassName}>
      {({ id, describedBy }) => (
        <input id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...input} className={`input ${input.className ?? ""}`} />
      )}
    </FieldShell>
  );
}

type SelectProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "id"> & { label: string; hint?: ReactNode; error?: string; fieldClassName?: string };

export function SelectField({ label, hint, error, fieldClassName, children, ...select }: SelectProps) {
  return (
    <FieldShell label={label} hint={hint} error={error} className={fieldClassName}>
      {({ id, describedBy }) => (
        <select id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...select} className={`input ${select.className ?? ""}`}>
          {children}
        </select>
      )}
    </FieldShell>
  );
}

type TextAreaProps = Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "id"> & { label: string; hint?: ReactNode; error?: string; fieldClassName?: string };

export function TextAreaField({ label, hint, error, fieldClassName, ...area }: TextAreaProps) {
  return (
    <FieldShell label={label} hint={hint} error={error} className={fieldClassName}>
      {({ id, describedBy }) => (
        <textarea id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...area} className={`input ${area.className ?? ""}`} />
      )}
    </FieldShell>
  );
}

export function CheckboxField({ label, hint, error, checked, onChange, disabled, name }: {
  label: string;
  hint?: ReactNode;
  error?: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  name?: string;
}) {
  const id = useId();
  return (
    <div className={`field field-check ${error ? "field-invalid" : ""}`}>
      <div className="check-row">
        <input id={id} type="checkbox" name={name} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} aria-invalid={error ? true : undefined} />
        <label htmlFor={id}>{label}</label>
      </div>
      {hint ? <p className="field-hint">{hint}</p> : null}
      {error ? <p className="field-error">{error}</p> : null}
    </div>
  );
}

/** Field errors keyed by the API's `param` (e.g. `targets[0].weight`), plus one for the form. */
export interface FormErrors {
  fields: Record<string, string>;
  form: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, form: null };

/**
 * Maps an API error onto the form: a `param` the form shows goes next to that field; any other
 * error is a form-level message. `known` lists the params the form has fields for (prefix match,
 * so `settings.mock` matches `settings.mock.latency_ms`).
 */
export function formErrorsFrom(err: unknown, known: (param: string) => boolean): FormErrors {
  if (err instanceof ApiError && err.param && known(err.param)) {
    return { fields: { [err.param]: humanize(err.message) }, form: null };
  }
  if (err instanceof ApiError && err.param) {
    return { fields: {}, form: `${humanize(err.message)} (field: ${err.param.replace(/_/g, " ")})` };
  }
  return { fields: {}, form: errorMessage(err) };
}

const PHRASES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^Expected `(?:int|float|number)` >= (\S+)$/, (m) => `Must be at least ${m[1]}.`],
  [/^Expected `(?:int|float|number)` > (\S+)$/, (m) => `Must be more than ${m[1]}.`],
  [/^Expected `(?:int|float|number)` <= (\S+)$/, (m) => `Must be at most ${m[1]}.`],
  [/^Expected `(?:int|float|number)` < (\S+)$/, (m) => `Must be less than ${m[1]}.`],
  [/^Expected `int`, got `(?:float|str)`$/, () => "Must be a whole number."],
  [/^Expected `(?:float|number)`, got `str`$/, () => "Must be a number."],
  [/^Expected `str` of length >= 1$/, () => "Required."],
  [/^Expected `str` of length >= (\d+)$/, (m) => `At least ${m[1]} characters.`],
  [/^Expected `array` of length <= (\d+)$/, (m) => `At most ${m[1]} entries.`],
  [/^Expected `str`, got `\w+`$/, () => "Must be text."],
  [/^Expected `bool`, got `\w+`$/, () => "Must be yes or no."],
  [/^Expected `datetime`, got `str`$/, () => "Must be a date and time."],
  [/^Invalid RFC3339 encoded datetime$/, () => "Must be a date and time."],
  [/^Expected `(.+)`, got `null`$/, () => "Required."],
  [/^Object missing required field `(\w+)`$/, (m) => `${(m[1] ?? "This field").replace(/_/g, " ")} is required.`],
  [/^Expected `str` of length <= (\d+)$/, (m) => `At most ${m[1]} characters.`],
  [/^Expected `str` matching regex .*$/, () => "Contains characters that are not allowed here."],
];

/** msgspec's validation wording ("Invalid value: Expected `int` >= 1") as a plain sentence. */
export function humanize(message: string): string {
  const text = message.replace(/^Invalid value: /, "");
  for (const [pattern, say] of PHRASES) {
    const match = text.match(pattern);
    if (match) return say(match);
  }
  return text;
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    setTimeout(() => setState("idle"), 2000);
  };
  return (
    <button type="button" className="btn btn-small" onClick={() => void copy()}>
      {state === "copied" ? "Copied" : state === "failed" ? "Select and copy manually" : label}
    </button>
  );
}

export function ReadOnlyNotice() {
  return (
    <Alert tone="info" title="Read-only">
      Your role is viewer: you can see everything here but not change it.
    </Alert>
  );
}

export function KeyValue({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([key, value]) => (
        <div key={key} className="kv-row">
          <dt>{key}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
