"use client";

import { useEffect, useId, useMemo, useRef, useState, type MouseEvent } from "react";
import { formatAxisTime, formatDateTime, timeZoneLabel } from "@/lib/format";

export interface Series {
  name: string;
  color: string;
  points: { t: number; v: number | null }[];
  dashed?: boolean;
}

export const PALETTE = ["#4c6ef5", "#12b886", "#f59f00", "#e64980", "#7950f2", "#15aabf", "#fa5252", "#82c91e", "#fd7e14", "#495057"];

const DEFAULT_W = 640;
const H = 220;
const PAD = { left: 56, right: 14, top: 12, bottom: 26 };
// Every bucket gets a marker while they are this few; beyond, only a value without a neighbour
// (which no line segment would show).
const MARK_ALL_BELOW = 90;

const TICKS = 4;

/** The smallest "round" tick step (1, 2, 2.5, 5 x 10^k) that fits `value` in TICKS steps. */
function niceStep(value: number, integer: boolean): number {
  const raw = value > 0 ? value / TICKS : 0.25;
  const exp = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / exp;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 && !(integer && exp < 10) ? 2.5 : f <= 5 ? 5 : 10;
  const step = nice * exp;
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

/** A value whose neighbours are both missing: a line segment cannot show it, a marker must. */
function isolated(points: { v: number | null }[], index: number): boolean {
  const present = (i: number) => i >= 0 && i < points.length && points[i]!.v !== null && Number.isFinite(points[i]!.v);
  return !present(index - 1) && !present(index + 1);
}

/** A small dependency-free SVG time-series chart with a hover read-out. */
/** The width the chart is drawn at: its container's, so axis text keeps its size on a phone. */
function useWidth(): [React.RefObject<HTMLElement | null>, number] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState(DEFAULT_W);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => {
      const next = Math.round(entry?.contentRect.width ?? DEFAULT_W);
      if (next > 0) setWidth(next);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export function LineChart({ series, from, to, format, title, emptyText = "No requests in this range.", integer = false, unit = "" }: {
  series: Series[];
  from: number;
  to: number;
  format: (v: number) => string;
  title: string;
  emptyText?: string;
  /** Counts: whole-number axis ticks only. */
  integer?: boolean;
  /** Appended to hover values (" req/min", " tokens"); formats that carry units leave it empty. */
  unit?: string;
}) {
  const clipId = useId();
  const [figureRef, W] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const allValues = series.flatMap((s) => s.points.map((p) => p.v).filter((v): v is number => v !== null && Number.isFinite(v)));
  const empty = allValues.length === 0;
  const step = niceStep(Math.max(0, ...allValues), integer);
  const max = step * TICKS;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const span = Math.max(1, to - from);
  const x = (t: number) => PAD.left + ((t - from) / span) * innerW;
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const ticks = Array.from({ length: TICKS + 1 }, (_, i) => i * step);
  const xTicks = (W < 420 ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1]).map((f) => from + f * span);
  const times = useMemo(() => {
    const set = new Set<number>();
    for (const s of series) for (const p of s.points) set.add(p.t);
    return [...set].sort((a, b) => a - b);
  }, [series]);

  const onMove = (event: MouseEvent<SVGSVGElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * W;
    const t = from + ((px - PAD.left) / innerW) * span;
    let best: number | null = null;
    for (const candidate of times) {
      if (best === null || Math.abs(candidate - t) < Math.abs(best - t)) best = candidate;
    }
    setHover(best);
  };

  const paths = series.map((s) => {
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (p.v === null || !Number.isFinite(p.v)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      pen = true;
    }
    return { s, d };
  });

  return (
    <figure style={{ margin: 0 }} ref={figureRef}>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={title} onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
        <defs>
          <clipPath id={clipId}>
            <rect x={PAD.left} y={PAD.top - 2} width={innerW} height={innerH + 4} />
          </clipPath>
        </defs>
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="grid-line" x1={PAD.left} x2={W - PAD.right} y1={y(tick)} y2={y(tick)} />
            {!empty || tick === 0 ? (
              <text x={PAD.left - 8} y={y(tick) + 4} textAnchor="end">
                {format(tick)}
              </text>
            ) : null}
          </g>
        ))}
        {xTicks.map((tick, i) => (
          <text key={tick} x={x(tick)} y={H - 6} textAnchor={i === 0 ? "start" : i === xTicks.length - 1 ? "end" : "middle"}>
            {formatAxisTime(tick, span)}
          </text>
        ))}
        <line className="axis-line" x1={PAD.left} x2={W - PAD.right} y1={PAD.top + innerH} y2={PAD.top + innerH} />
        <g clipPath={`url(#${clipId})`}>
          {paths.map(({ s, d }) => (
            <path key={s.name} d={d} fill="none" stroke={s.color} strokeWidth={s.dashed ? 1.5 : 2} strokeDasharray={s.dashed ? "5 4" : undefined} strokeLinejoin="round" strokeLinecap="round" />
          ))}
          {series.map((s) =>
            s.points
              .filter((p, i) => p.v !== null && Number.isFinite(p.v) && (s.points.length < MARK_ALL_BELOW || isolated(s.points, i)))
              .map((p) => <circle key={`${s.name}-${p.t}`} className="chart-marker" cx={x(p.t)} cy={y(p.v ?? 0)} r={isolated(s.points, s.points.indexOf(p)) ? 3.2 : 2.4} fill={s.color} />),
          )}
        </g>
        {empty ? (
          <text x={PAD.left + innerW / 2} y={PAD.top + innerH / 2} textAnchor="middle" style={{ fontSize: 13 }}>
            {emptyText}
          </text>
        ) : null}
        {hover !== null && !empty ? (
          <g pointerEvents="none">
            <line x1={x(hover)} x2={x(hover)} y1={PAD.top} y2={PAD.top + innerH} stroke="var(--text-faint)" strokeDasharray="3 3" />
            {(() => {
              const rows = series
                .map((s) => ({ s, p: s.points.find((p) => p.t === hover) }))
                .filter((r) => r.p && r.p.v !== null);
              const boxW = Math.min(230, W - PAD.left);
              const boxH = 22 + rows.length * 16;
              const right = x(hover) + 10;
              const bx = right + boxW <= W ? right : Math.max(0, x(hover) - 10 - boxW);
              return (
                <g>
                  <rect x={bx} y={PAD.top} width={boxW} height={boxH} rx={6} fill="var(--tooltip-bg)" stroke="var(--border-strong)" />
                  <text x={bx + 10} y={PAD.top + 16} style={{ fontWeight: 600, fill: "var(--text-strong)" }}>
                    {formatDateTime(new Date(hover).toISOString())}
                  </text>
                  {rows.map((r, i) => (
                    <g key={r.s.name}>
                      <rect x={bx + 10} y={PAD.top + 25 + i * 16} width={8} height={3} fill={r.s.color} />
                      <text x={bx + 24} y={PAD.top + 30 + i * 16}>
                        {r.s.name}: {format(r.p?.v ?? 0)}
                        {unit}
                      </text>
                    </g>
                  ))}
                </g>
              );
            })()}
          </g>
        ) : null}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name} className="legend-item">
            <span className={`legend-swatch ${s.dashed ? "legend-dashed" : ""}`} style={{ background: s.color }} />
            {s.name}
          </span>
        ))}
        <span className="legend-tz">Times in {timeZoneLabel()}</span>
      </figcaption>
    </figure>
  );
}
