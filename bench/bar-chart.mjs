// A standalone SVG of bar panels side by side, for the bench scripts' --chart option; drawn
// with the `tidings bench` chart primitives (apps/tidings/dist/bench/svg-chart.js, after
// `npm run build`), so every chart in bench/RESULTS.md looks alike.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Writes `file`: `title` over one bar panel per entry of `panels`
 * ({ title, axis, bars: [{ label, value }], format?, log? }). Non-finite values are left out.
 */
export async function writeBarChart(file, title, panels) {
  const svg = await import(pathToFileURL(join(root, 'apps/tidings/dist/bench/svg-chart.js')).href);
  const panelW = Math.max(260, 70 * Math.max(...panels.map((p) => p.bars.length)));
  const width = 90 + panels.length * (panelW + 90);
  const height = 360;
  const body = [svg.text(width / 2, 26, title, 'font-size="15" font-weight="bold" fill="#222" text-anchor="middle"')];
  panels.forEach((p, i) => {
    const box = { x: 90 + i * (panelW + 90), y: 70, w: panelW, h: 220 };
    const format =
      p.format ?? ((v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)))));
    body.push(
      svg.barPanel(
        box,
        p.title,
        p.bars.filter((b) => Number.isFinite(b.value)),
        { label: p.axis, log: p.log ?? false, format, empty: 'not measured' },
      ),
    );
  });
  writeFileSync(file, svg.svgDocument(width, height, body));
}
