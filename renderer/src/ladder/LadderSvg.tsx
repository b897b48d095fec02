import { memo, useEffect, useRef, useState } from 'react';
import { useAliases } from '../store/aliases';
import { ALIAS_MAX } from './aliases';
import { formatRelMs, type LadderArrow, type LadderModel } from './model';
import { TIME_MODE_LABEL, formatArrowTime, type TimeMode } from './time';

const GUTTER = 108; // timestamps
const COL_W = 180;
const HEADER_H = 38;
/** Fixed arrow row height (px): the body is windowed on it. */
export const LADDER_ROW_H = 26;
const ROW_H = LADDER_ROW_H;
const PAD_BOTTOM = 16;
const SELF_W = 34;
const HEAD = 7; // arrowhead length

const colX = (i: number) => GUTTER + COL_W * (i + 0.5);

export interface LadderSvgProps {
  model: LadderModel;
  /** Rows drawn: [start, end) of `model.arrows`, plus the selected arrow wherever it is (it may hold focus). */
  rows: { start: number; end: number };
  timeMode: TimeMode;
  selected: number | null;
  /** Message marked (`d`) as the first side of a comparison. */
  diffBase: number | null;
  /** Tooltip text of an event, by index (asked only for the arrows drawn). */
  titleOf: (index: number) => string | undefined;
  /** Click / Space: select and open; shift-click: compare with the selected one. */
  onSelect: (index: number, shift: boolean) => void;
  /** Focus (Tab, or the keyboard cursor's roving focus): select only; Enter then opens it. */
  onCursor: (index: number) => void;
}

/** Column headers; drawn in their own SVG so they can stay put while the body scrolls. Click one to give it an alias. */
export const LadderHeader = memo(function LadderHeader({ model, timeMode }: { model: LadderModel; timeMode: TimeMode }) {
  const width = ladderWidth(model);
  const aliases = useAliases((s) => s.aliases);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <svg className="ladder-header" width={width} height={HEADER_H} role="presentation">
      <text x={GUTTER - 8} y={HEADER_H / 2 + 4} className="ladder-gutter-title" textAnchor="end">
        {TIME_MODE_LABEL[timeMode]}
      </text>
      {model.columns.map((c) => {
        const x = colX(c.position) - COL_W / 2 + 8;
        const alias = aliases[c.endpoint];
        if (editing === c.endpoint) {
          return (
            <foreignObject key={c.endpoint} x={x} y={5} width={COL_W - 16} height={HEADER_H - 10}>
              <AliasInput endpoint={c.endpoint} initial={alias ?? ''} onDone={() => setEditing(null)} />
            </foreignObject>
          );
        }
        return (
          <g
            key={c.endpoint}
            className="ladder-col"
            data-testid="ladder-column"
            data-endpoint={c.endpoint}
            data-alias={alias}
            role="button"
            tabIndex={0}
            aria-label={`${alias ? `${alias} (${c.endpoint})` : c.endpoint}: rename`}
            onClick={() => setEditing(c.endpoint)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                e.stopPropagation(); // Enter here renames; it does not open the selected message
                setEditing(c.endpoint);
              }
            }}
          >
            <title>{`${c.endpoint}${alias ? ` (${alias})` : ''} — click to ${alias ? 'rename' : 'name'} this column`}</title>
            <rect x={x} y={5} width={COL_W - 16} height={HEADER_H - 10} rx={4} className="ladder-col-box" />
            {alias ? (
              <>
                <text x={colX(c.position)} y={18} textAnchor="middle" className="ladder-col-alias" data-testid="ladder-column-alias">
                  {alias}
                </text>
                <text x={colX(c.position)} y={30} textAnchor="middle" className="ladder-col-sub">
                  {c.endpoint}
                </text>
              </>
            ) : (
              <text x={colX(c.position)} y={HEADER_H / 2 + 4} textAnchor="middle" className="ladder-col-label">
                {c.endpoint}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
});

/** Inline alias editor: Enter or leaving the field saves (empty removes the alias), Escape cancels. */
function AliasInput({ endpoint, initial, onDone }: { endpoint: string; initial: string; onDone: () => void }) {
  const ref = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const finish = (save: boolean) => {
    if (done.current) return;
    done.current = true;
    if (save && ref.current) useAliases.getState().setAlias(endpoint, ref.current.value);
    onDone();
  };
  return (
    <input
      ref={ref}
      className="ladder-col-input"
      data-testid="ladder-column-input"
      defaultValue={initial}
      maxLength={ALIAS_MAX}
      placeholder={endpoint}
      aria-label={`Alias for ${endpoint}`}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          finish(true);
        } else if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          finish(false);
        }
      }}
      onBlur={() => finish(true)}
    />
  );
}

/**
 * The arrows, windowed: only the rows in view (and a few either side) are
 * drawn, in an SVG no taller than the window and placed where those rows
 * are, inside a spacer as tall as the whole ladder (so the scroll bar tells
 * the truth). A 10,000-message ladder then costs what a screenful does — in
 * the DOM, and in hit testing and painting, which a 260,000 px SVG made slow.
 */
export const LadderBody = memo(function LadderBody({ model, rows, timeMode, selected, diffBase, titleOf, onSelect, onCursor }: LadderSvgProps) {
  const width = ladderWidth(model);
  const height = model.arrows.length * ROW_H + PAD_BOTTOM;
  const start = model.startUs ?? 0;
  const top = rows.start * ROW_H;
  const windowH = Math.max(0, (rows.end - rows.start) * ROW_H) + PAD_BOTTOM;
  const drawn = model.arrows.slice(rows.start, rows.end);
  if (selected !== null) {
    // The selected arrow stays in the DOM even out of view (it may hold focus); the SVG clips it.
    const pinned = model.arrows.find((a) => a.index === selected);
    if (pinned && (pinned.row < rows.start || pinned.row >= rows.end)) drawn.push(pinned);
  }
  return (
    <div className="ladder-body" style={{ width, height }} data-testid="ladder" data-rows={model.arrows.length}>
      <svg className="ladder-window" width={width} height={windowH} style={{ transform: `translateY(${top}px)` }}>
        <g transform={`translate(0 ${-top})`}>
          {model.columns.map((c) => (
            <line key={c.endpoint} x1={colX(c.position)} x2={colX(c.position)} y1={top} y2={top + windowH} className="ladder-lifeline" />
          ))}
          {drawn.map((a) => (
            <Arrow
              key={a.index}
              arrow={a}
              src={model.columns[a.from]?.endpoint}
              dst={model.columns[a.to]?.endpoint}
              time={formatArrowTime(timeMode, a.tsUs, start, a.row === 0 ? null : model.arrows[a.row - 1]!.tsUs)}
              selected={a.index === selected}
              diffBase={a.index === diffBase}
              title={titleOf(a.index)}
              onSelect={onSelect}
              onCursor={onCursor}
            />
          ))}
        </g>
      </svg>
    </div>
  );
});

function ladderWidth(model: LadderModel): number {
  return GUTTER + COL_W * Math.max(1, model.columns.length) + SELF_W;
}

const Arrow = memo(function Arrow(props: {
  arrow: LadderArrow;
  /** Column endpoints ("address:port") the arrow goes from and to. */
  src: string | undefined;
  dst: string | undefined;
  time: string;
  selected: boolean;
  diffBase: boolean;
  title: string | undefined;
  onSelect: (i: number, shift: boolean) => void;
  onCursor: (i: number) => void;
}) {
  const a = props.arrow;
  const y = a.row * ROW_H + ROW_H * 0.72;
  const x1 = colX(a.from);
  const x2 = colX(a.to);
  const cls = ['ladder-arrow', `lane-${a.lane}`, a.retransmission ? 'retrans' : '', props.selected ? 'selected' : '', props.diffBase ? 'diff-base' : ''].filter(Boolean).join(' ');
  const select = (shift = false) => props.onSelect(a.index, shift);

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
      data-src={props.src}
      data-dst={props.dst}
      data-retransmission={a.retransmission ? 'true' : 'false'}
      data-selected={props.selected ? 'true' : 'false'}
      data-diff-base={props.diffBase ? 'true' : undefined}
      role="button"
      tabIndex={0}
      aria-pressed={props.selected}
      // Shift-click must not move focus first: focusing selects, and the click compares against the selection.
      onMouseDown={(e) => {
        if (e.shiftKey) e.preventDefault();
      }}
      onClick={(e) => select(e.shiftKey)}
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
        {props.diffBase ? <tspan className="ladder-diff-mark"> ⇆ compare</tspan> : null}
        {a.tryingDelayUs !== null ? (
          <tspan className="ladder-annot" data-testid="trying-delay" data-us={a.tryingDelayUs}>
            {` (${formatRelMs(a.tryingDelayUs)})`}
          </tspan>
        ) : null}
      </text>
    </g>
  );
});
