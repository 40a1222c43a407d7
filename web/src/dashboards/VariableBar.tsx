// The variable bar: a picker per variable (one value, several with checkboxes, All), text boxes,
// and ad-hoc filters (`label op value`). A change is applied once, when the picker closes.
import { useEffect, useRef, useState } from "react";
import { ALL, type Filter, filterText, parseFilter, type VarState } from "./variables";

function MultiPicker({ state, onChange }: { state: VarState; onChange: (values: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const [picked, setPicked] = useState(state.value);
  const box = useRef<HTMLDivElement>(null);
  const pickedRef = useRef(picked);
  pickedRef.current = picked;
  useEffect(() => setPicked(state.value), [state.value]);
  const close = () => {
    setOpen(false);
    const next = pickedRef.current;
    if (next.join("\u0000") !== state.value.join("\u0000")) onChange(next.length ? next : state.includeAll ? [ALL] : []);
  };
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => !box.current?.contains(e.target as Node) && close();
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }); // eslint-disable-line react-hooks/exhaustive-deps
  const all = state.value.includes(ALL);
  const summary = all ? "All" : state.value.map((v) => state.options.find((o) => o.value === v)?.label ?? v).join(" + ") || "None";
  const toggle = (value: string) => {
    if (value === ALL) setPicked(picked.includes(ALL) ? [] : [ALL]);
    else setPicked(picked.includes(value) ? picked.filter((v) => v !== value) : [...picked.filter((v) => v !== ALL), value]);
  };
  return (
    <div className="var-multi" ref={box}>
      <button type="button" aria-label={state.label} aria-expanded={open} onClick={() => (open ? close() : setOpen(true))} title={summary}>
        {summary} ▾
      </button>
      {open && (
        <div className="popover var-options" role="listbox" aria-label={`${state.label} values`} aria-multiselectable="true">
          {state.includeAll && (
            <label>
              <input type="checkbox" checked={picked.includes(ALL)} onChange={() => toggle(ALL)} /> All
            </label>
          )}
          {state.options.map((o) => (
            <label key={o.value}>
              <input type="checkbox" checked={picked.includes(o.value)} onChange={() => toggle(o.value)} /> {o.label}
            </label>
          ))}
          {!state.options.length && <span className="muted">No values</span>}
          <button type="button" className="primary" onClick={close}>
            Apply
          </button>
        </div>
      )}
    </div>
  );
}

function TextPicker({ state, onChange }: { state: VarState; onChange: (values: string[]) => void }) {
  const [text, setText] = useState(state.value[0] ?? "");
  useEffect(() => setText(state.value[0] ?? ""), [state.value]);
  const apply = () => text !== (state.value[0] ?? "") && onChange([text]);
  return <input aria-label={state.label} value={text} size={Math.max(6, Math.min(30, text.length + 1))} onChange={(e) => setText(e.target.value)} onBlur={apply} onKeyDown={(e) => e.key === "Enter" && apply()} />;
}

function FilterPicker({ state, onChange }: { state: VarState; onChange: (values: string[]) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState(false);
  const set = (filters: Filter[]) => onChange(filters.map(filterText));
  const add = () => {
    const filter = parseFilter(text);
    if (!filter) {
      setError(true);
      return;
    }
    setText("");
    setError(false);
    set([...state.filters, filter]);
  };
  return (
    <span className="var-filters">
      {state.filters.map((f, i) => (
        <span className="chip" key={i}>
          {filterText(f)}
          <button type="button" className="icon-button" aria-label={`Remove filter ${filterText(f)}`} onClick={() => set(state.filters.filter((_, j) => j !== i))}>
            ✕
          </button>
        </span>
      ))}
      <input
        aria-label={`${state.label}: add a filter`}
        className={error ? "invalid" : undefined}
        placeholder='label=value, label=~"re"'
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && add()}
      />
    </span>
  );
}

export function VariableBar({ states, loading, onChange }: { states: VarState[]; loading: boolean; onChange: (name: string, values: string[]) => void }) {
  const shown = states.filter((s) => !s.hidden && s.type !== "constant");
  if (!shown.length) return null;
  return (
    <div className="variable-bar" aria-label="Variables" role="group" aria-busy={loading}>
      {shown.map((state) => {
        const change = (values: string[]) => onChange(state.name, values);
        let picker;
        if (state.type === "textbox") picker = <TextPicker state={state} onChange={change} />;
        else if (state.type === "dynamic_filters") picker = <FilterPicker state={state} onChange={change} />;
        else if (state.multi) picker = <MultiPicker state={state} onChange={change} />;
        else
          picker = (
            <select aria-label={state.label} value={state.value[0] ?? ""} onChange={(e) => change([e.target.value])}>
              {state.includeAll && <option value={ALL}>All</option>}
              {!state.value.length && <option value="">No values</option>}
              {state.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          );
        return (
          <span className="variable" key={state.name} data-variable={state.name}>
            <span className="variable-label">{state.label}</span>
            {picker}
            {state.error && (
              <span className="error small" role="alert" title={state.error}>
                ⚠ {state.error}
              </span>
            )}
          </span>
        );
      })}
      {loading && <span className="muted small">Updating…</span>}
    </div>
  );
}
