// An instant query's result as a table: a row per series with its labels and value (a range
// vector lists its samples); a scalar or a string is one row.
import { formatTime } from "../time";
import { exactValue } from "./chartData";
import type { QueryData, SampleValue } from "./promApi";
import { seriesName } from "./promql";

const MAX_ROWS = 1000;

interface Row {
  name: string;
  samples: SampleValue[];
}

function rowsOf(data: QueryData): Row[] {
  switch (data.resultType) {
    case "vector":
      return data.result.map((s) => ({ name: seriesName(s.metric), samples: [s.value] }));
    case "matrix":
      return data.result.map((s) => ({ name: seriesName(s.metric), samples: s.values }));
    case "scalar":
    case "string":
      return [{ name: data.resultType, samples: [data.result] }];
  }
}

export function InstantTable({ data }: { data: QueryData }) {
  const rows = rowsOf(data);
  const plain = data.resultType === "scalar" || data.resultType === "string";
  return (
    <div className="instant-table">
      <table className="data-table" aria-label="Result table">
        <thead>
          <tr>
            <th>{plain ? "Type" : "Series"}</th>
            <th className="num">{data.resultType === "matrix" ? "Samples" : "Value"}</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, MAX_ROWS).map((row) => (
            <tr key={row.name}>
              <td className={plain ? "muted" : "mono"}>{row.name}</td>
              <td className="num mono" title={data.resultType === "matrix" ? undefined : row.samples[0][1]}>
                {data.resultType === "matrix"
                  ? row.samples.map(([time, value]) => (
                      <div key={time} title={value}>
                        {exactValue(value)} <span className="muted">@ {formatTime(time * 1e6)}</span>
                      </div>
                    ))
                  : exactValue(row.samples[0][1])}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > MAX_ROWS && <p className="muted small">Showing {MAX_ROWS.toLocaleString()} of {rows.length.toLocaleString()} series.</p>}
    </div>
  );
}
