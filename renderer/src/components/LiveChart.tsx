import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useSnapshot, type MetricPoint } from '../store/snapshot';
import { X_TICK, Y_TICK, formatTooltipLabel } from './chartTicks';
import { tryingFigure } from '../wire';

// Stable props: recharts re-renders less when these keep their identity.
const MARGIN = { top: 6, right: 8, bottom: 0, left: 0 };
const LEGEND_STYLE = { fontSize: 11 };

/** 100 Trying p99 and calls/s over the last ~2 minutes, one point every two seconds. */
export function LiveChart() {
  const data = useSnapshot((s) => s.history);
  // Whose 100 Trying the line shows: the wire's (tap on) or the engine's.
  const side = useSnapshot((s) => (s.snapshot ? (tryingFigure(s.snapshot)?.side ?? null) : null));
  return (
    <div className="chart" data-testid="live-chart">
      <div className="strip-title">100 Trying p99 (ms{side ? `, ${side}` : ''}) · calls/s — last 2 min</div>
      <div className="chart-body">{data.length < 2 ? <div className="empty small">collecting…</div> : <Chart data={data} />}</div>
    </div>
  );
}

const Chart = memo(function Chart({ data }: { data: MetricPoint[] }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={MARGIN}>
        <CartesianGrid strokeDasharray="2 4" className="chart-grid" />
        {/* interval={0}: show the (few, nice) ticks as computed instead of measuring label text in the DOM on every redraw. */}
        <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} tick={X_TICK} interval={0} tickCount={5} allowDecimals={false} />
        <YAxis yAxisId="ms" tick={Y_TICK} width={40} interval={0} tickCount={4} />
        <YAxis yAxisId="cps" orientation="right" tick={Y_TICK} width={36} interval={0} tickCount={4} />
        <Tooltip labelFormatter={formatTooltipLabel} isAnimationActive={false} />
        <Legend wrapperStyle={LEGEND_STYLE} />
        <Line yAxisId="ms" name="100 Trying p99 ms" dataKey="trying100P99Ms" stroke="var(--chart-a)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
        <Line yAxisId="cps" name="calls/s" dataKey="callsPerSecond" stroke="var(--chart-b)" dot={false} isAnimationActive={false} strokeWidth={1.5} />
      </LineChart>
    </ResponsiveContainer>
  );
});
