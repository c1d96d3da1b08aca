import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  /** Seconds since the epoch (uPlot's time unit). */
  x: number[];
  lines: { label: string; values: (number | null)[]; color: string }[];
}

/** A uPlot time-series chart that follows its container's width. */
export function HistoryChart({
  data,
  unit,
  title,
  testId = 'history-chart',
}: {
  data: ChartSeries;
  unit: string | null;
  title: string;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      title,
      width: Math.max(300, el.clientWidth),
      height: 260,
      series: [
        {},
        ...data.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, spanGaps: false })),
      ],
      axes: [{}, { label: unit ?? undefined, size: 60 }],
      scales: { x: { time: true } },
    };
    const u = new uPlot(opts, [data.x, ...data.lines.map((l) => l.values)], el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // A new set of lines (bucket change) rebuilds the chart; new points only update it (below).
  }, [data.lines.length, unit, title]);

  useEffect(() => {
    plot.current?.setData([data.x, ...data.lines.map((l) => l.values)]);
  }, [data]);

  return <div ref={box} className="chart" role="img" aria-label={`${title} chart`} data-testid={testId} />;
}
