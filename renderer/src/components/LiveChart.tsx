import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useSnapshot, type MetricPoint } from '../store/snapshot';

// Stable props: recharts re-renders less when these keep their identity.
const MARGIN = { top: 6, right: 8, bottom: 0, left: 0 };
const TICK = { fontSize: 10 };
const LEGEND_STYLE = { fontSize: 11 };
const formatT = (t: number) => `${Math.round(t)}s`;
const formatTooltipLabel = (t: unknown) => `t = ${typeof t === 'number' ? t.toFixed(1) : String(t)} s`;

/** 100 Trying p99 and calls/s over the last ~2 minutes of batches. */
export function LiveChart() {
  const data = useSnapshot((s) => s.history);
  return (
    <div className="chart" data-testid="live-chart">
      <div className="strip-title">100 Trying p99 (ms) · calls/s — last 2 min</div>
      <div className="chart-body">{data.length < 2 ? <div className="empty small">collecting…</div> : <Chart data={data} />}</div>
    </div>
  );
}

const Chart = memo(function Chart({ data }: { data: MetricPoint[] }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={MARGIN}>
        <CartesianGrid strokeDasharray="2 4" className="chart-grid" />
        <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tickFormatter={formatT} tick={TICK} minTickGap={24} allowDecimals={false} />
        <YAxis yAxisId="ms" tick={TICK} width={40} />
        <YAxis yAxisId="cps" orientation="right" tick={TICK} width={36} />
        <Tooltip labelFormatter={formatTooltipLabel} isAnimationActive={false} />
        <Legend wrapperStyle={LEGEND_STYLE} />
        <Line yAxisId="ms" name="100 Trying p99 ms" dataKey="trying100P99Ms" stroke="var(--chart-a)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
        <Line yAxisId="cps" name="calls/s" dataKey="callsPerSecond" stroke="var(--chart-b)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
      </LineChart>
    </ResponsiveContainer>
  );
});
