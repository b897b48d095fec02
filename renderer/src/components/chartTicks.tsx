/**
 * What the live charts share: axis labels as plain <text> (recharts' own Text
 * measures every word in the DOM, a forced layout per label per redraw, to
 * wrap labels that never wrap), built once so recharts sees stable props.
 */
const TICK_SIZE = 10;
const formatT = (t: number) => `${Math.round(t)}s`;
const formatN = (v: number) => (Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

/** What recharts passes a custom tick (the part we use). */
interface TickProps {
  x: number | string;
  y: number | string;
  textAnchor: 'start' | 'middle' | 'end' | 'inherit';
  payload: { value: unknown };
}

function tickOf(format: (v: number) => string, dy: number) {
  return function Tick({ x, y, textAnchor, payload }: TickProps) {
    return (
      <text x={x} y={y} dy={dy} textAnchor={textAnchor} fontSize={TICK_SIZE} className="chart-tick">
        {typeof payload.value === 'number' ? format(payload.value) : String(payload.value)}
      </text>
    );
  };
}

/** Seconds on the time axis. */
export const X_TICK = tickOf(formatT, 10);
/** A value axis: whole numbers from 100, one decimal below. */
export const Y_TICK = tickOf(formatN, 3);
export const formatTooltipLabel = (t: unknown) => `t = ${typeof t === 'number' ? t.toFixed(1) : String(t)} s`;
