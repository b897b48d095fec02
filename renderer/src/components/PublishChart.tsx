import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { CHART_TITLE } from '../publish/figures';
import { useSnapshot, type MetricPoint } from '../store/snapshot';
import { X_TICK, Y_TICK, formatTooltipLabel } from './chartTicks';

// Stable props (see LiveChart): recharts re-renders less when these keep their identity.
const MARGIN = { top: 4, right: 4, bottom: 0, left: 0 };
const LEGEND_STYLE = { fontSize: 10 };

/** Created → Redis reply p50/p99/max (ms) and the queue depth, from the same 2-minute history as the live chart. */
export function PublishChart() {
  const data = useSnapshot((s) => s.history);
  const any = data.some((p) => p.publishQueue !== null);
  return (
    <div className="publish-chart chart" data-testid="publish-chart" title={CHART_TITLE}>
      {data.length < 2 || !any ? <div className="empty small">collecting…</div> : <Chart data={data} />}
    </div>
  );
}

const Chart = memo(function Chart({ data }: { data: MetricPoint[] }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={MARGIN}>
        <CartesianGrid strokeDasharray="2 4" className="chart-grid" />
        <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tick={X_TICK} interval={0} tickCount={4} allowDecimals={false} />
        <YAxis yAxisId="ms" tick={Y_TICK} width={36} interval={0} tickCount={4} />
        <YAxis yAxisId="queue" orientation="right" tick={Y_TICK} width={30} interval={0} tickCount={3} allowDecimals={false} />
        <Tooltip labelFormatter={formatTooltipLabel} isAnimationActive={false} />
        <Legend wrapperStyle={LEGEND_STYLE} />
        <Line yAxisId="ms" name="p50 ms" dataKey="publishP50Ms" stroke="var(--chart-b)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
        <Line yAxisId="ms" name="p99 ms" dataKey="publishP99Ms" stroke="var(--chart-a)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
        <Line yAxisId="ms" name="max ms" dataKey="publishMaxMs" stroke="var(--chart-c)" dot={false} isAnimationActive={false} strokeWidth={1} strokeDasharray="3 2" />
        <Line yAxisId="queue" name="queue" dataKey="publishQueue" stroke="var(--chart-d)" dot={false} isAnimationActive={false} strokeWidth={1} />
      </LineChart>
    </ResponsiveContainer>
  );
});
