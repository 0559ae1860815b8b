// Hand-written SVG primitives for the `tidings bench` chart: a static chart of two panels needs
// a few rectangles, lines and texts, not a charting library (and none would run without a DOM).

/** A panel's plotting area in SVG user units (y grows downwards). */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** One bar of a bar panel. */
export interface Bar {
  readonly label: string;
  readonly value: number;
}

/** One line of a line panel, with its own y axis (left or right). */
export interface Series {
  readonly name: string;
  readonly color: string;
  /** y-axis title, with the unit, e.g. `p99 (ms)`. */
  readonly axisLabel: string;
  readonly points: ReadonlyArray<readonly [x: number, y: number]>;
  readonly format: (value: number) => string;
}

const axisColor = '#444';
const gridColor = '#e4e4e4';
const font = 'font-family="Helvetica, Arial, sans-serif"';

/** Escapes text for an XML text node or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An SVG `<text>` element; `attrs` is extra raw attribute text. */
export function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}" ${font} ${attrs}>${escapeXml(content)}</text>`;
}

function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

/** Ticks 0, step, 2·step … covering `max`, step 1, 2 or 5 × 10^k, at most 6 of them past 0. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => max / s <= 6) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  if ((ticks.at(-1) ?? 0) < max) ticks.push(ticks.length * step);
  return ticks;
}

/** Decades 10^a … 10^b covering [min, max] (min clamped to ≥ 1), at least two of them. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(1, min)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1, max))));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) ticks.push(10 ** k);
  return ticks;
}

/** Panel title above the box. */
function panelTitle(box: Box, title: string): string {
  return text(box.x, box.y - 14, title, 'font-size="14" font-weight="bold" fill="#222"');
}

function noData(box: Box, message: string): string {
  return text(box.x + box.w / 2, box.y + box.h / 2, message, 'font-size="13" fill="#888" text-anchor="middle"');
}

/**
 * A bar panel: one bar per entry with its value printed on top, y axis linear from 0 or, with
 * `log`, in decades (for latency percentiles spanning several orders of magnitude).
 */
export function barPanel(
  box: Box,
  title: string,
  bars: readonly Bar[],
  axis: {
    readonly label: string;
    readonly log: boolean;
    readonly format: (value: number) => string;
    /** Printed instead of bars when there are none. */
    readonly empty?: string;
  },
): string {
  const out = [panelTitle(box, title)];
  out.push(line(box.x, box.y, box.x, box.y + box.h, axisColor));
  out.push(line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, axisColor));
  out.push(
    text(
      box.x - 52,
      box.y + box.h / 2,
      axis.label,
      `font-size="12" fill="${axisColor}" text-anchor="middle" transform="rotate(-90 ${r(box.x - 52)} ${r(box.y + box.h / 2)})"`,
    ),
  );
  if (bars.length === 0) return [...out, noData(box, axis.empty ?? 'no data')].join('\n');
  const values = bars.map((b) => b.value);
  const ticks = axis.log ? logTicks(Math.min(...values), Math.max(...values)) : niceTicks(Math.max(...values));
  const first = ticks[0] ?? 0;
  const last = ticks.at(-1) ?? 1;
  const y = (v: number): number => {
    if (!axis.log) return box.y + box.h - (v / (last || 1)) * box.h;
    const f = (Math.log10(Math.max(first, v)) - Math.log10(first)) / (Math.log10(last) - Math.log10(first));
    return box.y + box.h - f * box.h;
  };
  for (const tick of ticks) {
    out.push(line(box.x, y(tick), box.x + box.w, y(tick), gridColor));
    out.push(text(box.x - 6, y(tick) + 4, axis.format(tick), `font-size="11" fill="${axisColor}" text-anchor="end"`));
  }
  const slot = box.w / bars.length;
  bars.forEach((bar, i) => {
    const top = y(bar.value);
    const x = box.x + slot * i + slot * 0.2;
    const height = Math.max(0, box.y + box.h - top);
    out.push(`<rect x="${r(x)}" y="${r(top)}" width="${r(slot * 0.6)}" height="${r(height)}" fill="#4878d0"/>`);
    out.push(text(x + slot * 0.3, top - 5, axis.format(bar.value), 'font-size="11" fill="#222" text-anchor="middle"'));
    out.push(
      text(x + slot * 0.3, box.y + box.h + 16, bar.label, `font-size="12" fill="${axisColor}" text-anchor="middle"`),
    );
  });
  return out.join('\n');
}

/**
 * A line panel over time: `left` on the left axis and, when given, `right` on its own right
 * axis; both linear from 0. An empty `left` series prints `empty` instead of lines.
 */
export function linePanel(box: Box, title: string, left: Series, right: Series | undefined, empty: string): string {
  const out = [panelTitle(box, title)];
  out.push(line(box.x, box.y, box.x, box.y + box.h, axisColor));
  out.push(line(box.x, box.y + box.h, box.x + box.w, box.y + box.h, axisColor));
  if (right !== undefined) out.push(line(box.x + box.w, box.y, box.x + box.w, box.y + box.h, axisColor));
  out.push(
    text(box.x + box.w / 2, box.y + box.h + 34, 'time (s)', `font-size="12" fill="${axisColor}" text-anchor="middle"`),
  );
  const axisTitle = (s: Series, x: number) =>
    text(
      x,
      box.y + box.h / 2,
      s.axisLabel,
      `font-size="12" fill="${s.color}" text-anchor="middle" transform="rotate(-90 ${r(x)} ${r(box.y + box.h / 2)})"`,
    );
  out.push(axisTitle(left, box.x - 52));
  if (right !== undefined) out.push(axisTitle(right, box.x + box.w + 56));
  const all = [...left.points, ...(right?.points ?? [])];
  if (all.length === 0) return [...out, noData(box, empty)].join('\n');
  let x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x1 - x0 < 1) [x0, x1] = [x0 - 0.5, x0 + 0.5];
  const x = (t: number) => box.x + ((t - x0) / (x1 - x0)) * box.w;
  // Ticks at multiples of a nice step, so they read 0, 5, 10 … whatever the first second is.
  const xStep = niceTicks(x1 - x0)[1] ?? 1;
  const xTicks: number[] = [];
  for (let t = Math.ceil(x0 / xStep - 1e-9) * xStep; t <= x1 + 1e-9; t += xStep) xTicks.push(t);
  for (const t of xTicks) {
    out.push(line(x(t), box.y + box.h, x(t), box.y + box.h + 4, axisColor));
    out.push(
      text(
        x(t),
        box.y + box.h + 17,
        String(Math.round(t * 10) / 10),
        `font-size="11" fill="${axisColor}" text-anchor="middle"`,
      ),
    );
  }
  const draw = (s: Series, side: 'left' | 'right') => {
    const ticks = niceTicks(Math.max(0, ...s.points.map((p) => p[1])));
    const top = ticks.at(-1) || 1;
    const y = (v: number) => box.y + box.h - (v / top) * box.h;
    for (const tick of ticks) {
      if (side === 'left') out.push(line(box.x, y(tick), box.x + box.w, y(tick), gridColor));
      const tx = side === 'left' ? box.x - 6 : box.x + box.w + 6;
      const anchor = side === 'left' ? 'end' : 'start';
      out.push(text(tx, y(tick) + 4, s.format(tick), `font-size="11" fill="${s.color}" text-anchor="${anchor}"`));
    }
    if (s.points.length === 0) return;
    const path = s.points.map(([t, v]) => `${r(x(t))},${r(y(v))}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length <= 40) {
      for (const [t, v] of s.points) out.push(`<circle cx="${r(x(t))}" cy="${r(y(v))}" r="2.5" fill="${s.color}"/>`);
    }
  };
  draw(left, 'left');
  if (right !== undefined) draw(right, 'right');
  const legend = [left, ...(right === undefined ? [] : [right])];
  legend.forEach((s, i) => {
    const lx = box.x + 10 + i * 170;
    out.push(`<rect x="${r(lx)}" y="${r(box.y + 6)}" width="14" height="4" fill="${s.color}"/>`);
    out.push(text(lx + 20, box.y + 12, s.name, 'font-size="11" fill="#222"'));
  });
  return out.join('\n');
}

/** A complete standalone SVG document of the given size with a white background. */
export function svgDocument(width: number, height: number, body: readonly string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
