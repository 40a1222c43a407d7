// The alert editor: what to look at (conditions or SQL, aggregation, rule kind), when it runs
// and fires, where it notifies; with a live "would this fire now?" preview and the server's
// one-sentence summary of the rule.
import { useEffect, useMemo, useState } from "react";
import * as api from "../api";
import * as alertsApi from "../alertsApi";
import { errorText } from "./AlertsPage";
import { type Combine, flatConditions } from "./conditions";

const OPERATORS = [">=", ">", "<=", "<", "=", "!="];
const CONDITION_OPERATORS = ["=", "!=", ">", ">=", "<", "<=", "contains", "not_contains"];
const FUNCTIONS = ["count", "avg", "min", "max", "sum", "median", "p75", "p90", "p95", "p99"];

/** A typed value from the text of a value input: numbers and booleans as such. */
function typedValue(text: string): string | number | boolean {
  if (text === "true" || text === "false") return text === "true";
  if (text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  return text;
}

const numberField = (text: string) => (text.trim() === "" ? NaN : Number(text));

export function AlertEditor({ org, initial, onDone }: { org: string; initial: alertsApi.Alert; onDone: () => void }) {
  const [alert, setAlert] = useState<alertsApi.Alert>(() => ({
    ...alertsApi.emptyAlert(initial.stream_name),
    ...initial,
    trigger_condition: { ...alertsApi.emptyAlert("").trigger_condition, ...initial.trigger_condition },
  }));
  const [streams, setStreams] = useState<string[]>([]);
  const [fields, setFields] = useState<string[]>([]);
  const [destinations, setDestinations] = useState<alertsApi.Destination[]>([]);
  const [templates, setTemplates] = useState<alertsApi.Template[]>([]);
  const [preview, setPreview] = useState<alertsApi.Preview | null>(null);
  const [previewError, setPreviewError] = useState("");
  const [error, setError] = useState("");
  const [saving, setSaving] = useState(false);
  const flat = flatConditions(alert);
  const { combine, list } = flat ?? { combine: "and" as Combine, list: [] };

  useEffect(() => {
    api.listStreams(org).then((s) => setStreams(s.map((x) => x.name).sort()), () => undefined);
    alertsApi.listDestinations(org).then(setDestinations, () => undefined);
    alertsApi.listTemplates(org).then(setTemplates, () => undefined);
  }, [org]);
  useEffect(() => {
    if (!alert.stream_name) return;
    api.streamSchema(org, alert.stream_name).then(
      (info) => setFields((info.schema ?? []).map((f) => f.name)),
      () => setFields([]),
    );
  }, [org, alert.stream_name]);

  // The live preview: the document as it stands, evaluated by the server (nothing is sent).
  const documentKey = useMemo(() => JSON.stringify(alert), [alert]);
  useEffect(() => {
    if (!alert.stream_name) {
      setPreview(null);
      setPreviewError("Choose a stream to see whether this would fire now.");
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const draft = { ...alert, name: alert.name || "draft", destinations: alert.destinations.length ? alert.destinations : ["(none yet)"] };
      alertsApi.previewAlert(org, draft, controller.signal).then(
        (p) => {
          setPreview(p);
          setPreviewError("");
        },
        (e) => {
          if (controller.signal.aborted) return;
          setPreview(null);
          setPreviewError(errorText(e));
        },
      );
    }, 500);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [documentKey, org]);

  const update = (change: Partial<alertsApi.Alert>) => setAlert((a) => ({ ...a, ...change }));
  const updateTrigger = (change: Partial<alertsApi.Alert["trigger_condition"]>) =>
    setAlert((a) => ({ ...a, trigger_condition: { ...a.trigger_condition, ...change } }));
  const updateQuery = (change: Partial<alertsApi.Alert["query_condition"]>) =>
    setAlert((a) => ({ ...a, query_condition: { ...a.query_condition, ...change } }));
  const setConditions = (nextCombine: Combine, next: alertsApi.Condition[]) =>
    updateQuery({ conditions: nextCombine === "or" ? { or: next } : { and: next } });
  const aggregation = alert.query_condition.aggregation ?? null;
  const setAggregation = (change: Partial<alertsApi.Aggregation> | null) =>
    updateQuery({
      aggregation:
        change === null
          ? null
          : {
              group_by: [],
              function: "count",
              having: { column: "", operator: ">=", value: 1 },
              ...(aggregation ?? {}),
              ...change,
            },
    });

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setError("");
    setSaving(true);
    try {
      await alertsApi.saveAlert(org, alert);
      onDone();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setSaving(false);
    }
  };

  const trigger = alert.trigger_condition;
  const kind = trigger.kind || "threshold";
  return (
    <form className="alert-editor" onSubmit={save} aria-label="Alert editor">
      <div className="editor-main">
        <h3>{alert.id ? `Edit alert ${initial.name}` : "New alert"}</h3>
        {alert.managed_by && (
          <p className="warn-note">
            This alert comes from {alert.managed_by}; changes made here are overwritten when that file changes.
          </p>
        )}
        <div className="form-grid">
          <label>
            Name
            <input aria-label="Alert name" value={alert.name} onChange={(e) => update({ name: e.target.value })} required />
          </label>
          <label>
            Stream
            <input aria-label="Stream" list="alert-streams" value={alert.stream_name} onChange={(e) => update({ stream_name: e.target.value })} required />
            <datalist id="alert-streams">
              {streams.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <label className="wide">
            Description
            <input aria-label="Description" value={alert.description} onChange={(e) => update({ description: e.target.value })} />
          </label>
        </div>

        <fieldset>
          <legend>What to look at</legend>
          <div className="mode-switch">
            {(["custom", "sql"] as const).map((mode) => (
              <button key={mode} type="button" aria-pressed={alert.query_condition.type === mode} onClick={() => updateQuery({ type: mode })}>
                {mode === "custom" ? "Conditions" : "SQL"}
              </button>
            ))}
          </div>
          {alert.query_condition.type === "sql" ? (
            <textarea
              aria-label="Alert SQL"
              className="sql-input"
              rows={4}
              value={alert.query_condition.sql ?? ""}
              placeholder={`SELECT * FROM "${alert.stream_name || "stream"}" WHERE …`}
              onChange={(e) => updateQuery({ sql: e.target.value })}
            />
          ) : flat === null ? (
            <>
              <p className="warn-note">
                These conditions nest and/or/not inside each other, which this editor cannot show as a list. They are kept as
                they are; change them through the API or an alerts-as-code file, or start again with a simple list.
              </p>
              <pre className="mono preview-rows" aria-label="Nested conditions">
                {JSON.stringify(alert.query_condition.conditions, null, 2)}
              </pre>
              <button type="button" onClick={() => setConditions("and", [])}>
                Replace with a simple list
              </button>
            </>
          ) : (
            <>
              <datalist id="alert-fields">
                {fields.map((f) => (
                  <option key={f} value={f} />
                ))}
              </datalist>
              {list.length > 1 && (
                <label className="inline">
                  Records must match{" "}
                  <select aria-label="Combine conditions" value={combine} onChange={(e) => setConditions(e.target.value as Combine, list)}>
                    <option value="and">all conditions</option>
                    <option value="or">any condition</option>
                  </select>
                </label>
              )}
              {list.map((condition, index) => (
                <div className="condition-row" key={index}>
                  <input
                    aria-label={`Condition ${index + 1} field`}
                    list="alert-fields"
                    value={condition.column}
                    placeholder="field"
                    onChange={(e) => setConditions(combine, list.map((c, i) => (i === index ? { ...c, column: e.target.value } : c)))}
                  />
                  <select
                    aria-label={`Condition ${index + 1} operator`}
                    value={condition.operator}
                    onChange={(e) => setConditions(combine, list.map((c, i) => (i === index ? { ...c, operator: e.target.value } : c)))}
                  >
                    {CONDITION_OPERATORS.map((o) => (
                      <option key={o} value={o}>
                        {o.replace("_", " ")}
                      </option>
                    ))}
                  </select>
                  <input
                    aria-label={`Condition ${index + 1} value`}
                    value={String(condition.value)}
                    placeholder="value"
                    onChange={(e) => setConditions(combine, list.map((c, i) => (i === index ? { ...c, value: typedValue(e.target.value) } : c)))}
                  />
                  <button type="button" aria-label={`Remove condition ${index + 1}`} onClick={() => setConditions(combine, list.filter((_, i) => i !== index))}>
                    ✕
                  </button>
                </div>
              ))}
              <button type="button" onClick={() => setConditions(combine, [...list, { column: "", operator: "=", value: "" }])}>
                Add condition
              </button>
              <label className="inline">
                <input type="checkbox" checked={aggregation !== null} onChange={(e) => setAggregation(e.target.checked ? {} : null)} /> Aggregate
              </label>
              {aggregation && (
                <div className="condition-row">
                  <select aria-label="Aggregate function" value={aggregation.function} onChange={(e) => setAggregation({ function: e.target.value })}>
                    {FUNCTIONS.map((f) => (
                      <option key={f}>{f}</option>
                    ))}
                  </select>
                  <input
                    aria-label="Aggregated field"
                    list="alert-fields"
                    placeholder="field"
                    value={aggregation.having.column}
                    onChange={(e) => setAggregation({ having: { ...aggregation.having, column: e.target.value } })}
                  />
                  <span>by</span>
                  <input
                    aria-label="Group by"
                    placeholder="fields, comma-separated"
                    value={aggregation.group_by.join(", ")}
                    onChange={(e) => setAggregation({ group_by: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
                  />
                  <span>groups where it is</span>
                  <select
                    aria-label="Having operator"
                    value={aggregation.having.operator}
                    onChange={(e) => setAggregation({ having: { ...aggregation.having, operator: e.target.value } })}
                  >
                    {OPERATORS.map((o) => (
                      <option key={o}>{o}</option>
                    ))}
                  </select>
                  <input
                    aria-label="Having value"
                    type="number"
                    value={String(aggregation.having.value)}
                    onChange={(e) => setAggregation({ having: { ...aggregation.having, value: numberField(e.target.value) } })}
                  />
                </div>
              )}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>When it fires</legend>
          <div className="form-grid">
            <label>
              Rule
              <select aria-label="Rule kind" value={kind} onChange={(e) => updateTrigger({ kind: e.target.value })}>
                <option value="threshold">Count (frequency / no data)</option>
                <option value="spike">Spike (vs previous period)</option>
                <option value="new_term">New term</option>
              </select>
            </label>
            <label className="inline">
              <input
                type="checkbox"
                aria-label="Real-time"
                checked={alert.is_real_time}
                disabled={kind !== "threshold"}
                onChange={(e) => update({ is_real_time: e.target.checked })}
              />{" "}
              Real-time (on every ingested batch)
            </label>
            <label>
              {kind === "spike" ? "Ratio" : "Count"} is
              <span className="pair">
                <select aria-label="Operator" value={trigger.operator} onChange={(e) => updateTrigger({ operator: e.target.value })}>
                  {OPERATORS.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
                <input aria-label="Threshold" type="number" step="any" value={String(trigger.threshold)} onChange={(e) => updateTrigger({ threshold: numberField(e.target.value) })} />
              </span>
            </label>
            <label>
              Period (minutes)
              <input aria-label="Period" type="number" step="any" value={String(trigger.period)} onChange={(e) => updateTrigger({ period: numberField(e.target.value) })} />
            </label>
            {!alert.is_real_time && (
              <label>
                Every (minutes)
                <input aria-label="Frequency" type="number" step="any" value={String(trigger.frequency)} onChange={(e) => updateTrigger({ frequency: numberField(e.target.value) })} />
              </label>
            )}
            {!alert.is_real_time && (
              <label title="Wait this long for records whose event time trails their ingestion: the run due at 10:05 evaluates up to 10:05 minus the delay">
                Delay for late records (minutes)
                <input aria-label="Delay" type="number" step="any" min="0" value={String(trigger.delay ?? 0)} onChange={(e) => updateTrigger({ delay: numberField(e.target.value) })} />
              </label>
            )}
            <label>
              Silence after firing (minutes)
              <input aria-label="Silence" type="number" step="any" value={String(trigger.silence)} onChange={(e) => updateTrigger({ silence: numberField(e.target.value) })} />
            </label>
            {kind === "spike" && (
              <label>
                Previous period needs at least
                <input aria-label="Minimum previous" type="number" step="any" value={String(trigger.min_previous)} onChange={(e) => updateTrigger({ min_previous: numberField(e.target.value) })} />
              </label>
            )}
            {kind === "new_term" && (
              <>
                <label>
                  New values of
                  <input
                    aria-label="Term fields"
                    placeholder="fields, comma-separated"
                    value={trigger.term_fields.join(", ")}
                    onChange={(e) => updateTrigger({ term_fields: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
                  />
                </label>
                <label>
                  Known from the previous (minutes)
                  <input aria-label="Term window" type="number" step="any" value={String(trigger.term_window)} onChange={(e) => updateTrigger({ term_window: numberField(e.target.value) })} />
                </label>
              </>
            )}
          </div>
        </fieldset>

        <fieldset>
          <legend>Who is notified</legend>
          {destinations.length === 0 && <p className="muted">No destinations yet: create one in the Destinations tab.</p>}
          <div className="checks">
            {destinations.map((d) => (
              <label key={d.name} className="inline">
                <input
                  type="checkbox"
                  aria-label={`Destination ${d.name}`}
                  checked={alert.destinations.includes(d.name)}
                  onChange={(e) =>
                    update({ destinations: e.target.checked ? [...alert.destinations, d.name] : alert.destinations.filter((x) => x !== d.name) })
                  }
                />{" "}
                {d.name}
              </label>
            ))}
          </div>
          <label>
            Template{" "}
            <select aria-label="Template" value={alert.template ?? ""} onChange={(e) => update({ template: e.target.value || null })}>
              <option value="">Each destination's own</option>
              {templates.map((t) => (
                <option key={t.name}>{t.name}</option>
              ))}
            </select>
          </label>
        </fieldset>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="tab-actions">
          <button type="submit" className="primary" disabled={saving}>
            Save alert
          </button>
          <button type="button" onClick={onDone}>
            Cancel
          </button>
        </div>
      </div>
      <aside className="preview-panel" aria-label="Preview">
        <h4>Would this fire now?</h4>
        {previewError && <p className="error">{previewError}</p>}
        {preview && (
          <>
            <p className={`verdict ${preview.would_fire ? "bad" : "good"}`}>{preview.would_fire ? "Yes — it would fire" : "No — it would not fire"}</p>
            <p className="small">
              Value {preview.value} {preview.operator} {preview.threshold}
              {preview.previous !== undefined && ` (previous period: ${preview.previous})`}
            </p>
            <p className="summary">{preview.summary}</p>
            {preview.rows.length > 0 && (
              <pre className="preview-rows">{preview.rows.slice(0, 5).map((r) => JSON.stringify(r)).join("\n")}</pre>
            )}
          </>
        )}
      </aside>
    </form>
  );
}
