import { useCallback, useEffect, useState } from "react";
import * as api from "./api";
import { AlertsPage } from "./alerts/AlertsPage";
import { LoginPage } from "./pages/LoginPage";
import { LogsPage } from "./pages/LogsPage";
import { StreamsPage } from "./pages/StreamsPage";
import { navigate, useLocation } from "./router";
import { TracesPage } from "./traces/TracesPage";

export function App() {
  const location = useLocation();
  const [me, setMe] = useState<api.Me | null | undefined>(undefined);

  const loadMe = useCallback(() => {
    api.me().then(setMe, () => setMe(null));
  }, []);

  useEffect(() => {
    api.setUnauthorizedHandler(() => setMe(null));
    loadMe();
  }, [loadMe]);

  if (me === undefined) return <div className="loading">Loading…</div>;
  if (me === null) return <LoginPage onLoggedIn={loadMe} />;

  const params = new URLSearchParams(location.search);
  const orgs = me.orgs.map((o) => o.identifier);
  const org = params.get("org") && orgs.includes(params.get("org") ?? "") ? (params.get("org") as string) : (orgs[0] ?? "default");
  const page = location.path.startsWith("/streams")
    ? "streams"
    : location.path.startsWith("/alerts")
      ? "alerts"
      : location.path.startsWith("/traces")
        ? "traces"
        : "logs";

  const switchOrg = (next: string) => navigate(`/${page}?org=${encodeURIComponent(next)}`);
  const signOut = async () => {
    await api.logout().catch(() => undefined);
    setMe(null);
    navigate("/", true);
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">kansoku</span>
        <nav>
          <a
            href={`/logs?org=${encodeURIComponent(org)}`}
            className={page === "logs" ? "active" : ""}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/logs?org=${encodeURIComponent(org)}`);
            }}
          >
            Logs
          </a>
          <a
            href={`/traces?org=${encodeURIComponent(org)}`}
            className={page === "traces" ? "active" : ""}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/traces?org=${encodeURIComponent(org)}`);
            }}
          >
            Traces
          </a>
          <a
            href={`/streams?org=${encodeURIComponent(org)}`}
            className={page === "streams" ? "active" : ""}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/streams?org=${encodeURIComponent(org)}`);
            }}
          >
            Streams
          </a>
          <a
            href={`/alerts?org=${encodeURIComponent(org)}`}
            className={page === "alerts" ? "active" : ""}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/alerts?org=${encodeURIComponent(org)}`);
            }}
          >
            Alerts
          </a>
        </nav>
        <span className="spacer" />
        <label className="org-switcher">
          Organization{" "}
          <select aria-label="Organization" value={org} onChange={(e) => switchOrg(e.target.value)}>
            {(orgs.length ? orgs : [org]).map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <span className="user">{me.email}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === "streams" ? (
          <StreamsPage org={org} />
        ) : page === "traces" ? (
          <TracesPage key={org} org={org} search={location.search} />
        ) : page === "alerts" ? (
          <AlertsPage key={org} org={org} search={location.search} />
        ) : (
          <LogsPage key={org} org={org} search={location.search} />
        )}
      </main>
    </div>
  );
}
