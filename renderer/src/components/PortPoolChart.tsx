import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { PORT_CHART_TITLE, hasRelayPoints, portSeries, type PortPoint } from '../relay/series';
import { useSnapshot } from '../store/snapshot';
import { X_TICK, Y_TICK, formatTooltipLabel } from './chartTicks';

// Stable props (see LiveChart): recharts re-renders less when these keep their identity.
const MARGIN = { top: 4, right: 4, bottom: 0, left: 0 };
const LEGEND_STYLE = { fontSize: 10 };

/** Ports in use over the last 2 minutes against the pool's size, with allocations/s and refused allocations, from the live history. */
export function PortPoolChart() {
  const history = useSnapshot((s) => s.history);
  const total = useSnapshot((s) => s.snapshot?.relay?.ports.total ?? 0);
  // The history is replaced (never mutated) once per point: derive the series once per point too.
  const data = useMemo(() => portSeries(history), [history]);
  const ready = data.length >= 2 && hasRelayPoints(history);
  return (
    <div className="portpool-chart chart" data-testid="portpool-chart" title={PORT_CHART_TITLE}>
      {ready ? <Chart data={data} total={total} /> : <div className="empty small">collecting…</div>}
    </div>
  );
}

const Chart = memo(function Chart({ data, total }: { data: PortPoint[]; total: number }) {
  // The left axis spans the whole pool, so a leak reads as the line climbing towards the top.
  const domain = useMemo<[number, number]>(() => [0, Math.max(1, total)], [total]);
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={MARGIN}>
        <CartesianGrid strokeDasharray="2 4" className="chart-grid" />
        <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tick={X_TICK} interval={0} tickCount={4} allowDecimals={false} />
        <YAxis yAxisId="ports" domain={domain} tick={Y_TICK} width={36} interval={0} tickCount={3} allowDecimals={false} />
        <YAxis yAxisId="rate" orientation="right" tick={Y_TICK} width={26} interval={0} tickCount={3} />
        <Tooltip labelFormatter={formatTooltipLabel} isAnimationActive={false} />
        <Legend wrapperStyle={LEGEND_STYLE} iconSize={8} />
        <Line yAxisId="ports" name="in use" dataKey="inUse" stroke="var(--chart-a)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
        <Line yAxisId="rate" name="alloc/s" dataKey="allocPerS" stroke="var(--chart-b)" dot={false} isAnimationActive={false} strokeWidth={1} />
        <Line yAxisId="rate" name="refused" dataKey="failures" stroke="var(--error)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
      </LineChart>
    </ResponsiveContainer>
  );
});
