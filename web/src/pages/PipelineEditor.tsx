// A stream's ingest pipeline: edit its steps (JSON), try them on sample records of the stream
// (or any records pasted in) before saving, save or remove it. See docs/pipelines.md.
import { useEffect, useState } from "react";
import * as api from "../api";
import { describeResult, parseJsonText } from "./pipeline";

const TEMPLATE = `{
  "steps": [
    {"type": "parse_json", "field": "log"}
  ]
}`;

export function PipelineEditor({ org, stream }: { org: string; stream: string }) {
  const [text, setText] = useState(TEMPLATE);
  const [samples, setSamples] = useState("[]");
  const [stored, setStored] = useState<api.StoredPipeline | null>(null);
  const [results, setResults] = useState<api.PipelineResult[] | null>(null);
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    api.getPipeline(org, stream).then(
      (value) => {
        setStored(value);
        setText(JSON.stringify(value.pipeline, null, 2));
      },
      (e) => {
        if (!(e instanceof api.ApiError && e.status === 404)) setError(e instanceof Error ? e.message : String(e));
      },
    );
    const now = Date.now() * 1000;
    api
      .search(org, {
        sql: `SELECT * FROM "${stream.replace(/"/g, '""')}" ORDER BY _timestamp DESC`,
        startTime: now - 24 * 3600 * 1_000_000,
        endTime: now,
        size: 5,
      })
      .then(
        (response) => setSamples(JSON.stringify(response.hits, null, 2)),
        () => setSamples("[]"),
      );
  }, [org, stream]);

  const fail = (e: unknown) => setError(e instanceof Error ? e.message : String(e));
  const clear = () => {
    setMessage("");
    setError("");
  };

  const tryIt = async () => {
    clear();
    const pipeline = parseJsonText<unknown>(text, "The pipeline");
    const records = parseJsonText<unknown[]>(samples, "The sample records");
    const problem = pipeline.error ?? records.error;
    if (problem) return setError(problem);
    if (!Array.isArray(records.value)) return setError("The sample records must be a JSON array of records.");
    try {
      setResults((await api.testPipeline(org, stream, pipeline.value, records.value)).results);
    } catch (e) {
      fail(e);
    }
  };

  const save = async () => {
    clear();
    const pipeline = parseJsonText<unknown>(text, "The pipeline");
    if (pipeline.error) return setError(pipeline.error);
    try {
      const saved = await api.putPipeline(org, stream, pipeline.value);
      setMessage(`Pipeline saved (version ${saved.version}); it applies to records ingested from now on.`);
      setStored(await api.getPipeline(org, stream));
    } catch (e) {
      fail(e);
    }
  };

  const remove = async () => {
    clear();
    try {
      await api.deletePipeline(org, stream);
      setStored(null);
      setText(TEMPLATE);
      setMessage("Pipeline removed.");
    } catch (e) {
      fail(e);
    }
  };

  return (
    <section className="pipeline-editor" aria-label="Pipeline">
      <h4>Ingest pipeline</h4>
      <p className="muted small">
        {stored
          ? `Version ${stored.version}, last changed by ${stored.updated_by}.`
          : "No pipeline: records are stored as they arrive."}{" "}
        Steps: parse_json, parse_cri, kubernetes_path, rename, drop_fields, drop_record, route (see docs/pipelines.md).
      </p>
      <div className="pipeline-columns">
        <label>
          Steps
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={14} spellCheck={false} aria-label="Pipeline steps" />
        </label>
        <label>
          Sample records (the stream's latest; edit or paste your own)
          <textarea value={samples} onChange={(e) => setSamples(e.target.value)} rows={14} spellCheck={false} aria-label="Sample records" />
        </label>
      </div>
      <div className="pipeline-actions">
        <button type="button" onClick={tryIt}>
          Test on samples
        </button>
        <button type="button" className="primary" onClick={save}>
          Save pipeline
        </button>
        {stored && (
          <button type="button" onClick={remove}>
            Remove pipeline
          </button>
        )}
      </div>
      {message && <p className="ok">{message}</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {results && (
        <ol className="pipeline-results" aria-label="Test results">
          {results.map((result, index) => (
            <li key={index}>
              <div>{describeResult(result)}</div>
              {result.record && <pre>{JSON.stringify(result.record, null, 2)}</pre>}
            </li>
          ))}
          {results.length === 0 && <li className="muted">No records to run on.</li>}
        </ol>
      )}
    </section>
  );
}
