import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  readonly values: Array<number | null>;
}

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** One uPlot line chart; rebuilt when the set of series changes, else only its data is set. */
export function Chart(props: {
  readonly name: string;
  readonly title: string;
  readonly times: number[];
  readonly series: readonly Series[];
  readonly unit?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = props.series.map((s) => s.label).join('\u0000');
  const data = [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData;

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const unit = props.unit ?? '';
    const options: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 180,
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((v) => `${v}${unit}`) }],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: palette[i % palette.length] as string,
          width: 2,
          spanGaps: true,
        })),
      ],
    };
    const u = new uPlot(options, data, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  let max = 0;
  for (const s of props.series) for (const v of s.values) if (v !== null && v > max) max = v;
  // data-points and data-max let tests (and curious operators) see what is drawn.
  return (
    <section class="chart" data-chart={props.name} data-points={props.times.length} data-max={max}>
      <h3>{props.title}</h3>
      <div ref={box} />
    </section>
  );
}
