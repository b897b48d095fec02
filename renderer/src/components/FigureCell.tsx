import { memo } from 'react';
import type { Figure } from '../publish/figures';

/**
 * One figure of a bottom-strip panel: its label, its value, and in its title
 * where it is measured and over what window. `panel` names the panel's
 * classes and test ids (`<panel>-figure`, `<panel>-figure-<id>`). Props are
 * the figure's primitives, so a cell whose figure did not change is not
 * re-rendered.
 */
export const FigureCell = memo(function FigureCell({ panel, ...f }: Figure & { panel: 'portpool' | 'publish' | 'recorder' | 'traffic' }) {
  return (
    <div className={`${panel}-figure${f.tone ? ` ${f.tone}` : ''}`} data-testid={`${panel}-figure-${f.id}`} data-value={f.value} title={f.title}>
      <span className={`${panel}-figure-label`}>{f.label}</span>
      <span className={`${panel}-figure-value mono ellipsis`}>{f.value}</span>
    </div>
  );
});
