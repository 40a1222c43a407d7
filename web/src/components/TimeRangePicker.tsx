import { useState } from "react";
import { describeRange, fromLocalInput, QUICK_RANGES, resolveRange, toLocalInput, type TimeRange } from "../time";

export function TimeRangePicker({ range, onChange }: { range: TimeRange; onChange: (range: TimeRange) => void }) {
  const [open, setOpen] = useState(false);
  const [relative, setRelative] = useState("");
  const resolved = resolveRange(range) ?? resolveRange({ from: "now-15m", to: "now" })!;
  const [start, setStart] = useState(toLocalInput(resolved[0]));
  const [end, setEnd] = useState(toLocalInput(resolved[1]));
  const [error, setError] = useState("");

  const pick = (next: TimeRange) => {
    setOpen(false);
    setError("");
    onChange(next);
  };

  const applyRelative = () => {
    const value = relative.trim().replace(/^now-/, "");
    if (!/^\d+[smhdw]$/.test(value)) {
      setError("use a number and a unit: 90m, 6h, 3d, 2w");
      return;
    }
    pick({ from: `now-${value}`, to: "now" });
  };

  const applyAbsolute = () => {
    const from = fromLocalInput(start);
    const to = fromLocalInput(end);
    if (from === undefined || to === undefined || from >= to) {
      setError("the start must be before the end");
      return;
    }
    pick({ from: String(from), to: String(to) });
  };

  return (
    <div className="time-picker">
      <button type="button" className="time-button" aria-label="Time range" onClick={() => setOpen(!open)}>
        {describeRange(range)} ▾
      </button>
      {open && (
        <div className="popover time-popover" role="dialog" aria-label="Choose a time range">
          <div className="quick">
            {QUICK_RANGES.map((q) => (
              <button type="button" key={q.from} onClick={() => pick({ from: q.from, to: "now" })}>
                {q.label}
              </button>
            ))}
          </div>
          <div className="row">
            <label>
              Last
              <input
                placeholder="90m, 6h, 3d"
                value={relative}
                onChange={(e) => setRelative(e.target.value)}
                onKeyDown={(e) => e.key === "Enter" && applyRelative()}
                aria-label="Relative range"
              />
            </label>
            <button type="button" onClick={applyRelative}>
              Apply
            </button>
          </div>
          <div className="row">
            <label>
              From
              <input type="datetime-local" step="1" value={start} onChange={(e) => setStart(e.target.value)} aria-label="Absolute start" />
            </label>
            <label>
              To
              <input type="datetime-local" step="1" value={end} onChange={(e) => setEnd(e.target.value)} aria-label="Absolute end" />
            </label>
            <button type="button" onClick={applyAbsolute}>
              Apply absolute
            </button>
          </div>
          {error && <p className="error">{error}</p>}
        </div>
      )}
    </div>
  );
}
