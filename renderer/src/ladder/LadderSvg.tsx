import { memo, useMemo } from 'react';
import { formatRelMs, type LadderArrow, type LadderModel } from './model';
import { TIME_MODE_LABEL, formatArrowTime, type TimeMode } from './time';

const GUTTER = 108; // timestamps
const COL_W = 180;
const HEADER_H = 34;
const ROW_H = 26;
const PAD_BOTTOM = 16;
const SELF_W = 34;
const HEAD = 7; // arrowhead length

const colX = (i: number) => GUTTER + COL_W * (i + 0.5);

export interface LadderSvgProps {
  model: LadderModel;
  timeMode: TimeMode;
  selected: number | null;
  /** Tooltip text per event index. */
  titles: ReadonlyMap<number, string>;
  /** Click / Space: select and open. */
  onSelect: (index: number) => void;
  /** Focus (Tab, or the keyboard cursor's roving focus): select only; Enter then opens it. */
  onCursor: (index: number) => void;
}

/** Column headers; drawn in their own SVG so they can stay put while the body scrolls. */
export const LadderHeader = memo(function LadderHeader({ model, timeMode }: { model: LadderModel; timeMode: TimeMode }) {
  const width = ladderWidth(model);
  return (
    <svg className="ladder-header" width={width} height={HEADER_H} role="presentation">
      <text x={GUTTER - 8} y={HEADER_H / 2 + 4} className="ladder-gutter-title" textAnchor="end">
        {TIME_MODE_LABEL[timeMode]}
      </text>
      {model.columns.map((c) => (
        <g key={c.endpoint} data-testid="ladder-column" data-endpoint={c.endpoint}>
          <rect x={colX(c.position) - COL_W / 2 + 8} y={5} width={COL_W - 16} height={HEADER_H - 10} rx={4} className="ladder-col-box" />
          <text x={colX(c.position)} y={HEADER_H / 2 + 4} textAnchor="middle" className="ladder-col-label">
            {c.endpoint}
          </text>
        </g>
      ))}
    </svg>
  );
});

export const LadderBody = memo(function LadderBody({ model, timeMode, selected, titles, onSelect, onCursor }: LadderSvgProps) {
  const width = ladderWidth(model);
  const times = useMemo(() => {
    const start = model.startUs ?? 0;
    return model.arrows.map((a, i) => formatArrowTime(timeMode, a.tsUs, start, i === 0 ? null : model.arrows[i - 1]!.tsUs));
  }, [model, timeMode]);
  const height = model.arrows.length * ROW_H + PAD_BOTTOM;
  return (
    <svg className="ladder-body" width={width} height={height} data-testid="ladder">
      {model.columns.map((c) => (
        <line key={c.endpoint} x1={colX(c.position)} x2={colX(c.position)} y1={0} y2={height} className="ladder-lifeline" />
      ))}
      {model.arrows.map((a, i) => (
        <Arrow key={a.index} arrow={a} time={times[i]!} selected={a.index === selected} title={titles.get(a.index)} onSelect={onSelect} onCursor={onCursor} />
      ))}
    </svg>
  );
});

function ladderWidth(model: LadderModel): number {
  return GUTTER + COL_W * Math.max(1, model.columns.length) + SELF_W;
}

const Arrow = memo(function Arrow(props: { arrow: LadderArrow; time: string; selected: boolean; title: string | undefined; onSelect: (i: number) => void; onCursor: (i: number) => void }) {
  const a = props.arrow;
  const y = a.row * ROW_H + ROW_H * 0.72;
  const x1 = colX(a.from);
  const x2 = colX(a.to);
  const cls = ['ladder-arrow', `lane-${a.lane}`, a.retransmission ? 'retrans' : '', props.selected ? 'selected' : ''].filter(Boolean).join(' ');
  const select = () => props.onSelect(a.index);

  let shape;
  let labelX: number;
  if (a.direction === 'self') {
    const yEnd = y + 8;
    shape = (
      <>
        <path d={`M${x1},${y - 4} h${SELF_W} V${yEnd} H${x1 + HEAD}`} className="ladder-line" fill="none" />
        <polygon points={`${x1},${yEnd} ${x1 + HEAD},${yEnd - 4} ${x1 + HEAD},${yEnd + 4}`} className="ladder-head" />
      </>
    );
    labelX = x1 + SELF_W + 4;
  } else {
    const dir = a.direction === 'right' ? 1 : -1;
    const tip = x2 - dir * 1;
    shape = (
      <>
        <line x1={x1} x2={tip - dir * HEAD} y1={y} y2={y} className="ladder-line" />
        <polygon points={`${tip},${y} ${tip - dir * HEAD},${y - 4} ${tip - dir * HEAD},${y + 4}`} className="ladder-head" />
      </>
    );
    labelX = (x1 + x2) / 2;
  }

  return (
    <g
      className={cls}
      data-testid="ladder-arrow"
      data-label={a.label}
      data-index={a.index}
      data-retransmission={a.retransmission ? 'true' : 'false'}
      data-selected={props.selected ? 'true' : 'false'}
      role="button"
      tabIndex={0}
      aria-pressed={props.selected}
      onClick={select}
      onFocus={() => props.onCursor(a.index)}
      onKeyDown={(e) => {
        // Enter is the console shortcut (opens the selection, which focus set); Space selects and opens here.
        if (e.key === ' ') {
          e.preventDefault();
          select();
        }
      }}
    >
      {props.title ? <title>{props.title}</title> : null}
      <rect x={0} y={a.row * ROW_H} width="100%" height={ROW_H} className="ladder-hit" />
      <text x={GUTTER - 8} y={y + 4} textAnchor="end" className="ladder-time" data-testid="ladder-time">
        {props.time}
      </text>
      {shape}
      <text x={labelX} y={y - 5} textAnchor={a.direction === 'self' ? 'start' : 'middle'} className="ladder-label">
        {a.label}
        {a.retransmission ? ' ⟳' : ''}
        {a.tryingDelayUs !== null ? (
          <tspan className="ladder-annot" data-testid="trying-delay" data-us={a.tryingDelayUs}>
            {` (${formatRelMs(a.tryingDelayUs)})`}
          </tspan>
        ) : null}
      </text>
    </g>
  );
});
