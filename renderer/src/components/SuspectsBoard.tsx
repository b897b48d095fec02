import { useShallow } from 'zustand/react/shallow';
import { NO_FILTER } from '../calls/query';
import { useCallsView } from '../store/callsView';
import { useSnapshot } from '../store/snapshot';
import { suspectChip } from '../suspects/board';

/**
 * The suspects board: the story's chain of suspects (the SIP path, the
 * relay, the recorder and its forwarding, the kernel, Redis, the
 * application), each green, amber or red by the thresholds its title states,
 * live from the snapshot. A suspect with calls to show filters the calls
 * list to them on a click.
 */
export function SuspectsBoard() {
  const suspects = useSnapshot(useShallow((s) => s.snapshot?.suspects ?? []));
  const replaceFilter = useCallsView((s) => s.replaceFilter);
  if (suspects.length === 0) return null;
  return (
    <section className="suspects" aria-label="Suspects" data-testid="suspects">
      <span className="strip-title" title="Which part is slowing calls down? Each suspect is the worst of its checks; hover for the checks, their thresholds and where each is measured.">
        Suspects
      </span>
      {suspects.map((s) => {
        const chip = suspectChip(s);
        return (
          <button
            key={s.id}
            type="button"
            className={`suspect suspect-${chip.state}`}
            data-testid={`suspect-${s.id}`}
            data-state={chip.state}
            title={chip.title}
            aria-disabled={!chip.clickable}
            onClick={() => s.calls && replaceFilter({ ...NO_FILTER, ...s.calls })}
          >
            {chip.label}
          </button>
        );
      })}
    </section>
  );
}
