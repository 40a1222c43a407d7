// Auto-refresh: the picker the logs and metrics pages share, and the timer behind every page's
// refresh choice.
import { useEffect } from "react";
import { REFRESH_CHOICES, refreshMillis } from "../time";

/** Calls `onTick` every `refresh` ("5s", "1m" …; "off" never) while the component is mounted. */
export function useAutoRefresh(refresh: string, onTick: () => void) {
  useEffect(() => {
    const every = refreshMillis(refresh);
    if (!every) return;
    const timer = window.setInterval(onTick, every);
    return () => window.clearInterval(timer);
  }, [refresh]); // eslint-disable-line react-hooks/exhaustive-deps -- onTick only bumps a counter
}

export function RefreshPicker({ value, onChange }: { value: string; onChange: (refresh: string) => void }) {
  return (
    <label>
      Refresh{" "}
      <select aria-label="Auto-refresh" value={value} onChange={(e) => onChange(e.target.value)}>
        {REFRESH_CHOICES.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
}
