// Templates and destinations: lists with an editor each; templates render a preview against a
// sample row, destinations send a test notification.
import { useCallback, useEffect, useState } from "react";
import * as alertsApi from "../alertsApi";
import { errorText } from "./AlertsPage";
import { plural } from "../format";

function useList<T>(load: () => Promise<T[]>): [T[] | null, string, () => void] {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState("");
  const reload = useCallback(() => {
    load().then(setItems, (e) => setError(errorText(e)));
  }, [load]);
  useEffect(reload, [reload]);
  return [items, error, reload];
}

function ManagedNote({ managedBy }: { managedBy?: string }) {
  if (!managedBy) return null;
  return <p className="warn-note">Declared in {managedBy}; edits here are overwritten when that file changes.</p>;
}

// ---- templates ---------------------------------------------------------------------------------

const EMPTY_TEMPLATE: alertsApi.Template = { name: "", type: "http", title: "", body: "" };

export function TemplatesTab({ org }: { org: string }) {
  const loader = useCallback(() => alertsApi.listTemplates(org), [org]);
  const [templates, error, reload] = useList(loader);
  const [editing, setEditing] = useState<{ template: alertsApi.Template; create: boolean } | null>(null);
  const [message, setMessage] = useState("");
  const [actionError, setActionError] = useState("");

  const remove = async (name: string) => {
    if (!window.confirm(`Delete template ${name}?`)) return;
    setActionError("");
    try {
      await alertsApi.deleteTemplate(org, name);
      setMessage(`Deleted ${name}`);
    } catch (e) {
      setActionError(errorText(e));
    }
    reload();
  };

  if (editing) {
    return (
      <TemplateEditor
        org={org}
        initial={editing.template}
        create={editing.create}
        onDone={(saved) => {
          setEditing(null);
          if (saved) setMessage(`Saved ${saved}`);
          reload();
        }}
      />
    );
  }
  return (
    <div>
      <div className="tab-actions">
        <button type="button" className="primary" onClick={() => setEditing({ template: EMPTY_TEMPLATE, create: true })}>
          New template
        </button>
        {message && <span className="ok">{message}</span>}
        {(error || actionError) && <span className="error">{error || actionError}</span>}
      </div>
      <table className="data-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Body</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(templates ?? []).map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.type || "http"}</td>
              <td className="small mono clip">{t.body}</td>
              <td className="row-actions">
                <button type="button" onClick={() => setEditing({ template: t, create: false })}>
                  Edit
                </button>
                <button type="button" onClick={() => void remove(t.name)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {templates && templates.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No templates yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function TemplateEditor({
  org,
  initial,
  create,
  onDone,
}: {
  org: string;
  initial: alertsApi.Template;
  create: boolean;
  onDone: (saved?: string) => void;
}) {
  const [template, setTemplate] = useState(initial);
  const [rendered, setRendered] = useState<{ rendered: string; valid_json: boolean } | null>(null);
  const [error, setError] = useState("");
  const update = (change: Partial<alertsApi.Template>) => setTemplate((t) => ({ ...t, ...change }));

  const preview = async () => {
    setError("");
    try {
      setRendered(await alertsApi.previewTemplate(org, template.body));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setError("");
    try {
      await alertsApi.saveTemplate(org, template, create);
      onDone(template.name);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form className="object-editor" onSubmit={save} aria-label="Template editor">
      <h3>{create ? "New template" : `Edit template ${initial.name}`}</h3>
      <ManagedNote managedBy={template.managed_by} />
      <div className="form-grid">
        <label>
          Name
          <input aria-label="Template name" value={template.name} disabled={!create} onChange={(e) => update({ name: e.target.value })} required />
        </label>
        <label>
          Type
          <select aria-label="Template type" value={template.type || "http"} onChange={(e) => update({ type: e.target.value })}>
            <option value="http">Webhook / Slack (JSON or text)</option>
            <option value="email">E-mail</option>
          </select>
        </label>
        <label className="wide">
          Title (e-mail subject)
          <input aria-label="Template title" value={template.title} onChange={(e) => update({ title: e.target.value })} />
        </label>
      </div>
      <label>
        Body — variables: {"{alert_name} {stream_name} {alert_count} {alert_agg_value} {alert_start_time} {alert_end_time} {alert_url} {rows} {field}"}
        <textarea aria-label="Template body" className="mono" rows={8} value={template.body} onChange={(e) => update({ body: e.target.value })} required />
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="tab-actions">
        <button type="submit" className="primary">
          Save template
        </button>
        <button type="button" onClick={() => void preview()}>
          Preview
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
      {rendered && (
        <div className="rendered" aria-label="Rendered template">
          <p className={rendered.valid_json ? "ok" : "muted"}>{rendered.valid_json ? "Valid JSON" : "Plain text (not JSON)"}</p>
          <pre className="mono">{rendered.rendered}</pre>
        </div>
      )}
    </form>
  );
}

// ---- destinations ------------------------------------------------------------------------------

const EMPTY_DESTINATION: alertsApi.Destination = {
  name: "",
  type: "http",
  url: "",
  method: "post",
  headers: {},
  template: "",
  emails: [],
  destination_type_name: "",
  rate_limit_per_hour: 0,
};

type DestinationKind = "webhook" | "slack" | "email";

const kindOf = (d: alertsApi.Destination): DestinationKind =>
  d.type === "email" ? "email" : d.destination_type_name === "slack" ? "slack" : "webhook";

export function DestinationsTab({ org }: { org: string }) {
  const loader = useCallback(() => alertsApi.listDestinations(org), [org]);
  const [destinations, error, reload] = useList(loader);
  const [editing, setEditing] = useState<{ destination: alertsApi.Destination; create: boolean } | null>(null);
  const [message, setMessage] = useState("");
  const [actionError, setActionError] = useState("");

  const act = async (what: () => Promise<string>) => {
    setMessage("");
    setActionError("");
    try {
      setMessage(await what());
    } catch (e) {
      setActionError(errorText(e));
    }
    reload();
  };

  if (editing) {
    return (
      <DestinationEditor
        org={org}
        initial={editing.destination}
        create={editing.create}
        onDone={(saved) => {
          setEditing(null);
          if (saved) setMessage(`Saved ${saved}`);
          reload();
        }}
      />
    );
  }
  return (
    <div>
      <div className="tab-actions">
        <button type="button" className="primary" onClick={() => setEditing({ destination: EMPTY_DESTINATION, create: true })}>
          New destination
        </button>
        {message && <span className="ok" role="status">{message}</span>}
        {(error || actionError) && <span className="error" role="alert">{error || actionError}</span>}
      </div>
      <table className="data-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>Target</th>
            <th>Rate limit</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(destinations ?? []).map((d) => (
            <tr key={d.name} data-destination={d.name}>
              <td>{d.name}</td>
              <td>{kindOf(d)}</td>
              <td className="small clip">{d.type === "email" ? d.emails.join(", ") : d.url}</td>
              <td className="small">{d.rate_limit_per_hour ? `${d.rate_limit_per_hour}/hour` : "—"}</td>
              <td className="row-actions">
                <button
                  type="button"
                  onClick={() =>
                    void act(async () => {
                      const result = await alertsApi.testDestination(org, d.name);
                      return `Test sent to ${d.name}: accepted (${result.http_status}) after ${plural(Number(result.attempts), "attempt")}`;
                    })
                  }
                >
                  Send test
                </button>
                <button type="button" onClick={() => setEditing({ destination: d, create: false })}>
                  Edit
                </button>
                <button
                  type="button"
                  onClick={() => {
                    if (!window.confirm(`Delete destination ${d.name}?`)) return;
                    void act(async () => {
                      await alertsApi.deleteDestination(org, d.name);
                      return `Deleted ${d.name}`;
                    });
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {destinations && destinations.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No destinations yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function DestinationEditor({
  org,
  initial,
  create,
  onDone,
}: {
  org: string;
  initial: alertsApi.Destination;
  create: boolean;
  onDone: (saved?: string) => void;
}) {
  const [destination, setDestination] = useState({ ...EMPTY_DESTINATION, ...initial });
  const [headers, setHeaders] = useState(alertsApi.formatHeaders(initial.headers ?? {}));
  const [templates, setTemplates] = useState<alertsApi.Template[]>([]);
  const [error, setError] = useState("");
  const [result, setResult] = useState("");
  const [isNew, setIsNew] = useState(create);
  useEffect(() => {
    alertsApi.listTemplates(org).then(setTemplates, () => undefined);
  }, [org]);
  const update = (change: Partial<alertsApi.Destination>) => setDestination((d) => ({ ...d, ...change }));
  const kind = kindOf(destination);
  const setKind = (next: DestinationKind) =>
    update({
      type: next === "email" ? "email" : "http",
      destination_type_name: next === "slack" ? "slack" : "",
    });
  const document = (): alertsApi.Destination => ({ ...destination, headers: alertsApi.parseHeaders(headers) });

  const save = async (andTest: boolean) => {
    setError("");
    setResult("");
    try {
      await alertsApi.saveDestination(org, document(), isNew);
      setIsNew(false);
      if (!andTest) {
        onDone(destination.name);
        return;
      }
      const sent = await alertsApi.testDestination(org, destination.name);
      setResult(`Saved; test notification accepted (${sent.http_status}) after ${plural(Number(sent.attempts), "attempt")}.`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form
      className="object-editor"
      aria-label="Destination editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save(false);
      }}
    >
      <h3>{create ? "New destination" : `Edit destination ${initial.name}`}</h3>
      <ManagedNote managedBy={destination.managed_by} />
      <div className="form-grid">
        <label>
          Name
          <input aria-label="Destination name" value={destination.name} disabled={!isNew} onChange={(e) => update({ name: e.target.value })} required />
        </label>
        <label>
          Kind
          <select aria-label="Destination kind" value={kind} onChange={(e) => setKind(e.target.value as DestinationKind)}>
            <option value="webhook">Webhook</option>
            <option value="slack">Slack (incoming webhook)</option>
            <option value="email">E-mail</option>
          </select>
        </label>
        {kind === "email" ? (
          <label className="wide">
            Recipients
            <input
              aria-label="Recipients"
              placeholder="ops@example.com, oncall@example.com"
              value={destination.emails.join(", ")}
              onChange={(e) => update({ emails: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
            />
          </label>
        ) : (
          <>
            <label className="wide">
              URL
              <input aria-label="URL" value={destination.url} placeholder="https://hooks.slack.com/services/…" onChange={(e) => update({ url: e.target.value })} />
            </label>
            <label>
              Method
              <select aria-label="Method" value={destination.method || "post"} onChange={(e) => update({ method: e.target.value })}>
                <option value="post">POST</option>
                <option value="put">PUT</option>
                <option value="get">GET</option>
              </select>
            </label>
            <label className="wide">
              Headers (one "Name: value" per line)
              <textarea aria-label="Headers" rows={2} className="mono" value={headers} onChange={(e) => setHeaders(e.target.value)} />
            </label>
          </>
        )}
        <label>
          Template
          <select aria-label="Destination template" value={destination.template} onChange={(e) => update({ template: e.target.value })}>
            <option value="">{kind === "slack" ? "Slack preset (Block Kit)" : "Default"}</option>
            {templates.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <label>
          At most per hour (0: no limit)
          <input
            aria-label="Rate limit per hour"
            type="number"
            min={0}
            value={String(destination.rate_limit_per_hour)}
            onChange={(e) => update({ rate_limit_per_hour: Math.max(0, Math.floor(Number(e.target.value) || 0)) })}
          />
        </label>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {result && <p className="ok" role="status">{result}</p>}
      <div className="tab-actions">
        <button type="submit" className="primary">
          Save destination
        </button>
        <button type="button" onClick={() => void save(true)}>
          Save and send test
        </button>
        <button type="button" onClick={() => onDone()}>
          {result ? "Done" : "Cancel"}
        </button>
      </div>
    </form>
  );
}
