// The label browser: the label names of the editor's first selector (of every series without
// one) and, for a chosen label, its values among the series the other matchers select; a click
// on a value sets that label's matcher in the editor.
import { useEffect, useState } from "react";
import * as promApi from "./promApi";
import { matchOfQuery } from "./promql";

const MAX_VALUES = 500;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface LabelBrowserProps {
  org: string;
  query: string;
  span: promApi.TimeSpan | undefined;
  onPick: (label: string, value: string) => void;
}

export function LabelBrowser({ org, query, span, onPick }: LabelBrowserProps) {
  const match = matchOfQuery(query);
  const [names, setNames] = useState<string[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    if (!span) return;
    // The previous names stay until the new ones arrive, so the list does not flicker as you type.
    const abort = new AbortController();
    setError("");
    promApi.labelNames(org, span, match, abort.signal).then(
      (found) => setNames(found.filter((name) => name !== "__name__")),
      (e) => !abort.signal.aborted && setError(errorText(e)),
    );
    return () => abort.abort();
  }, [org, span, match]);

  return (
    <section className="label-browser" aria-label="Labels">
      <h4>
        Labels <span className="muted small mono">{match ?? "of every series"}</span>
      </h4>
      {error && <p className="error small">{error}</p>}
      {!names && !error && <p className="muted small">Loading labels…</p>}
      <ul className="field-list">
        {(names ?? []).map((name) => (
          <li key={name}>
            <div className="field-row">
              <button type="button" className="field-name" aria-expanded={open === name} data-label={name} onClick={() => setOpen(open === name ? null : name)}>
                {name}
              </button>
            </div>
            {open === name && span && <LabelValues org={org} label={name} match={matchOfQuery(query, name)} span={span} onPick={onPick} />}
          </li>
        ))}
        {names && names.length === 0 && <li className="muted small">No series match</li>}
      </ul>
    </section>
  );
}

function LabelValues({
  org,
  label,
  match,
  span,
  onPick,
}: {
  org: string;
  label: string;
  match: string | undefined;
  span: promApi.TimeSpan;
  onPick: LabelBrowserProps["onPick"];
}) {
  const [values, setValues] = useState<string[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    const abort = new AbortController();
    setError("");
    promApi.labelValues(org, label, span, match, abort.signal).then(setValues, (e) => !abort.signal.aborted && setError(errorText(e)));
    return () => abort.abort();
  }, [org, label, match, span]);

  if (error) return <p className="error small">{error}</p>;
  if (!values) return <p className="muted small top-values">Loading values…</p>;
  return (
    <div className="top-values" data-testid={`label-values-${label}`}>
      <p className="muted small">
        {values.length.toLocaleString()} value{values.length === 1 ? "" : "s"}
      </p>
      <ul>
        {values.slice(0, MAX_VALUES).map((value) => (
          <li key={value} className="value-row">
            <button type="button" className="link-button value-text" title={`Set ${label}="${value}" in the query`} onClick={() => onPick(label, value)}>
              {value}
            </button>
          </li>
        ))}
        {values.length > MAX_VALUES && <li className="muted small">{(values.length - MAX_VALUES).toLocaleString()} more</li>}
      </ul>
    </div>
  );
}
