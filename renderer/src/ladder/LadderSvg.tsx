import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { useAliases } from '../store/aliases';
import { ALIAS_MAX } from './aliases';
import { bandBox, bandsInRows, mediaBands, type BandLayout, type MediaBand } from './mediaBand';
import { formatRelMs, type LadderArrow, type LadderModel } from '../../../app/ladder';
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
/** Where an arrow's line sits in its row, as a share of the row's height. */
const LINE_AT = 0.72;
const BAND_LAYOUT: BandLayout = { colX, rowH: ROW_H, lineAt: LINE_AT, selfW: SELF_W, slotInset: 12 };

/** Rows per block: the body is drawn in blocks of this many rows, each its own small SVG. */
export const LADDER_BLOCK_ROWS = 16;

export interface LadderSvgProps {
  model: LadderModel;
  /** Blocks drawn (ascending): block b holds rows [b × LADDER_BLOCK_ROWS, (b + 1) × LADDER_BLOCK_ROWS) of `model.arrows`. */
  blocks: readonly number[];
  timeMode: TimeMode;
  selected: number | null;
  /** Row of the selected arrow, or null. */
  selectedRow: number | null;
  /** Message marked (`d`) as the first side of a comparison. */
  diffBase: number | null;
  /** Row of the `diffBase` arrow, or null. */
  diffBaseRow: number | null;
  /** Tooltip text of an event, by index (asked only for the arrows drawn). */
  titleOf: (index: number) => string | undefined;
  /** An extra class for an arrow by index (a publish outcome), or undefined. */
  toneOf?: (index: number) => string | undefined;
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
 * The arrows, windowed: only the blocks of rows in view (and a few rows
 * either side) are drawn, each block in an SVG no taller than its rows and
 * placed where they are, inside a spacer as tall as the whole ladder (so the
 * scroll bar tells the truth). A 10,000-message ladder then costs what a
 * screenful does — in the DOM, and in hit testing and painting, which a
 * 260,000 px SVG made slow. Scrolling adds and removes whole blocks: the ones
 * that stay are not re-rendered, laid out or repainted.
 */
export const LadderBody = memo(function LadderBody({ model, blocks, timeMode, selected, selectedRow, diffBase, diffBaseRow, titleOf, toneOf, onSelect, onCursor }: LadderSvgProps) {
  const width = ladderWidth(model);
  const height = model.arrows.length * ROW_H + PAD_BOTTOM;
  // A new model (new entries) is the only thing that moves a band.
  const bands = useMemo(() => mediaBands(model), [model]);
  const blockOf = (row: number | null) => (row === null ? null : Math.floor(row / LADDER_BLOCK_ROWS));
  const selectedBlock = blockOf(selectedRow);
  const diffBaseBlock = blockOf(diffBaseRow);
  return (
    <div className="ladder-body" style={{ width, height }} data-testid="ladder" data-rows={model.arrows.length}>
      {blocks.map((b) => (
        <LadderBlock
          key={b}
          model={model}
          block={b}
          bands={bands}
          width={width}
          timeMode={timeMode}
          // Only the blocks holding the selected (or compared) arrow see it change.
          selected={b === selectedBlock ? selected : null}
          diffBase={b === diffBaseBlock ? diffBase : null}
          titleOf={titleOf}
          toneOf={toneOf}
          onSelect={onSelect}
          onCursor={onCursor}
        />
      ))}
    </div>
  );
});

const LadderBlock = memo(function LadderBlock(props: {
  model: LadderModel;
  block: number;
  /** Every media band of the ladder; the block draws its piece of those that cross its rows. */
  bands: readonly MediaBand[];
  width: number;
  timeMode: TimeMode;
  selected: number | null;
  diffBase: number | null;
  titleOf: (index: number) => string | undefined;
  toneOf: ((index: number) => string | undefined) | undefined;
  onSelect: (index: number, shift: boolean) => void;
  onCursor: (index: number) => void;
}) {
  const { model, timeMode, selected, diffBase } = props;
  const first = props.block * LADDER_BLOCK_ROWS;
  const last = Math.min(model.arrows.length, first + LADDER_BLOCK_ROWS);
  const top = first * ROW_H;
  const h = (last - first) * ROW_H + (last === model.arrows.length ? PAD_BOTTOM : 0);
  const start = model.startUs ?? 0;
  const drawn = model.arrows.slice(first, last);
  const pieces = bandsInRows(props.bands, first, last);
  return (
    // In flow, taking no room (the negative margin), and shifted down to its rows: an out-of-flow
    // block would make Blink lay out the whole page whenever one is added.
    <svg className="ladder-window" width={props.width} height={h} style={{ top, marginBottom: -h }}>
      <g transform={`translate(0 ${-top})`}>
        {model.columns.map((c) => (
          <line key={c.endpoint} x1={colX(c.position)} x2={colX(c.position)} y1={top} y2={top + h} className="ladder-lifeline" />
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
            title={props.titleOf(a.index)}
            tone={props.toneOf?.(a.index)}
            onSelect={props.onSelect}
            onCursor={props.onCursor}
          />
        ))}
        {pieces.map((band) => (
          <BandPiece key={band.index} band={band} first={first} end={last} title={props.titleOf(band.index)} onSelect={props.onSelect} />
        ))}
      </g>
    </svg>
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
  /** An extra class (a publish outcome), or undefined. */
  tone: string | undefined;
  onSelect: (i: number, shift: boolean) => void;
  onCursor: (i: number) => void;
}) {
  const a = props.arrow;
  const y = a.row * ROW_H + ROW_H * LINE_AT;
  const x1 = colX(a.from);
  const x2 = colX(a.to);
  const media = a.stream ? [a.stream.lost > 0 ? 'media-lossy' : '', a.stream.phase === 'closed' ? 'media-closed' : ''] : [];
  const cls = ['ladder-arrow', `lane-${a.lane}`, props.tone ?? '', ...media, a.retransmission ? 'retrans' : '', props.selected ? 'selected' : '', props.diffBase ? 'diff-base' : ''].filter(Boolean).join(' ');
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
      data-lane={a.lane}
      data-owner={a.owner}
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

/**
 * A stream's band within one block: a translucent fill between its columns
 * that selects the SIP message whose SDP set the stream up (or the stream,
 * when none did). The stream's own arrow row, where the band starts, still
 * opens the stream's latest report, and is how the keyboard reaches it.
 */
const BandPiece = memo(function BandPiece(props: { band: MediaBand; first: number; end: number; title: string | undefined; onSelect: (index: number, shift: boolean) => void }) {
  const { band } = props;
  const box = bandBox(band, props.first, props.end, BAND_LAYOUT);
  if (!box || box.height <= 0) return null;
  const cls = ['media-band', band.lossy ? 'media-lossy' : '', band.closed ? 'media-closed' : ''].filter(Boolean).join(' ');
  const select = (e: { shiftKey: boolean }) => props.onSelect(band.selectIndex, e.shiftKey);
  return (
    <g className={cls} data-testid="media-band" data-stream={band.streamId} data-index={band.index} data-select={band.selectIndex} data-row={band.row} data-last-row={band.lastRow} data-lossy={band.lossy ? 'true' : 'false'}>
      {props.title ? <title>{props.title}</title> : null}
      <rect x={box.x} y={box.y} width={box.width} height={box.height} className="media-band-fill" onClick={select} />
    </g>
  );
});
