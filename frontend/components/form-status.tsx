"use client";

import { useEffect, useRef } from "react";

export type SaveState = { kind: "idle" } | { kind: "saved"; text: string } | { kind: "error"; text: string };
export const IDLE: SaveState = { kind: "idle" };

/** "Saved." or the error, next to the form's button; focus moves to it so a screen reader
 * announces it and the keyboard stays where the action happened. */
export function FormStatus({ state }: { state: SaveState }) {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (state.kind !== "idle") ref.current?.focus();
  }, [state]);
  if (state.kind === "idle") return null;
  return (
    <span ref={ref} tabIndex={-1} className={`form-status form-status-${state.kind}`} role={state.kind === "error" ? "alert" : "status"}>
      {state.text}
    </span>
  );
}

/** While `dirty`, leaving the page (a link, back, reload, closing the tab) asks first. */
export function useUnsavedChangesGuard(dirty: boolean, message = "You have unsaved changes. Leave this page without saving them?") {
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    const onClick = (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const link = (event.target as Element | null)?.closest?.("a[href]");
      if (!(link instanceof HTMLAnchorElement) || link.target === "_blank" || link.hasAttribute("download")) return;
      const url = new URL(link.href, window.location.href);
      if (url.origin !== window.location.origin || (url.pathname === window.location.pathname && url.search === window.location.search)) return;
      if (!window.confirm(message)) {
        event.preventDefault();
        event.stopPropagation();
      }
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    document.addEventListener("click", onClick, true);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      document.removeEventListener("click", onClick, true);
    };
  }, [dirty, message]);
}
