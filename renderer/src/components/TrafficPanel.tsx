import { generatorWarning, trafficAbsentLine, trafficFigures } from '../traffic/figures';
import { useSnapshot } from '../store/snapshot';
import { FigureCell } from './FigureCell';

/**
 * The bottom strip's built-in traffic: the spec in force, the generator's
 * own account of the calls it places, and its own thread's load, warned when
 * saturated. Off, one line says how to start it.
 */
export function TrafficPanel() {
  const traffic = useSnapshot((s) => s.snapshot?.traffic ?? null);
  const status = useSnapshot((s) => s.snapshot?.components.find((c) => c.name === 'traffic'));
  // What the kernel dropped on the generator's own sockets: the kernel suspect leaves it out, the generator owns it.
  const dropped = useSnapshot((s) => (s.snapshot && s.snapshot.kernel.unavailable === null ? s.snapshot.kernel.generatorDrops : null));
  const warning = traffic ? generatorWarning(traffic, dropped) : null;
  return (
    <div className="traffic-panel" data-testid="traffic-panel" data-traffic={traffic ? 'running' : 'off'}>
      <div className="recorder-head">
        <span className="strip-title" title="The built-in caller and callee (engine/traffic): every figure is the generator's own count, over the window its title gives.">
          Traffic · generator
        </span>
        {traffic ? (
          <span className="muted mono ellipsis small-print" data-testid="traffic-spec" title={`The spec in force (--traffic; the settings dialog changes it live). Calls go to the proxy at ${traffic.proxy}, addressed to the built-in callee at ${traffic.callee}.`}>
            {traffic.spec}
          </span>
        ) : null}
      </div>
      {warning ? (
        <div className="recorder-warning error ellipsis" data-testid="traffic-warning" role="alert" title={warning}>
          ⚠ {warning}
        </div>
      ) : null}
      {traffic ? (
        <div className="traffic-figures">
          {trafficFigures(traffic, dropped).map((f) => (
            <FigureCell panel="traffic" key={f.id} {...f} />
          ))}
        </div>
      ) : (
        <div className="recorder-absent muted" data-testid="traffic-absent">
          {trafficAbsentLine(status)}
        </div>
      )}
    </div>
  );
}
