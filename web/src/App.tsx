import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import * as api from "./api";
import { AlertsPage } from "./alerts/AlertsPage";
import { MetricsPage } from "./metrics/MetricsPage";
import { LoginPage } from "./pages/LoginPage";
import { HomePage } from "./home/HomePage";
import { LogsPage } from "./pages/LogsPage";
import { AuditPage } from "./pages/AuditPage";
import { StreamsPage } from "./pages/StreamsPage";
import { navigate, useLocation } from "./router";
import { TracesPage } from "./traces/TracesPage";

// Dashboards are a chunk of their own, loaded when first opened.
const DashboardsRoute = lazy(() => import("./dashboards/DashboardsRoute"));

const PAGES = [
  { path: "home", title: "Home" },
  { path: "logs", title: "Logs" },
  // Not `/metrics`: that is the server's own Prometheus endpoint.
  { path: "metrics-explorer", title: "Metrics" },
  { path: "traces", title: "Traces" },
  { path: "streams", title: "Streams" },
  { path: "dashboards", title: "Dashboards" },
  { path: "alerts", title: "Alerts" },
  // Shown to admins of the organisation (and root) only.
  { path: "audit", title: "Audit" },
] as const;

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
  const isAdmin = me.is_root || me.orgs.find((o) => o.identifier === org)?.role.toLowerCase() === "admin";
  const pages = PAGES.filter((p) => p.path !== "audit" || isAdmin);
  const page = pages.find((p) => location.path.startsWith(`/${p.path}`))?.path ?? "home";

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
          {pages.map((p) => (
            <a
              key={p.path}
              href={`/${p.path}?org=${encodeURIComponent(org)}`}
              className={page === p.path ? "active" : ""}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/${p.path}?org=${encodeURIComponent(org)}`);
              }}
            >
              {p.title}
            </a>
          ))}
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
        {page === "home" ? (
          <HomePage key={org} org={org} />
        ) : page === "streams" ? (
          <StreamsPage org={org} />
        ) : page === "metrics-explorer" ? (
          <MetricsPage key={org} org={org} search={location.search} />
        ) : page === "traces" ? (
          <TracesPage key={org} org={org} search={location.search} />
        ) : page === "dashboards" ? (
          <Suspense fallback={<div className="loading">Loading…</div>}>
            <DashboardsRoute
              org={org}
              path={location.path}
              search={location.search}
              canEdit={me.is_root || me.orgs.find((o) => o.identifier === org)?.role.toLowerCase() !== "viewer"}
            />
          </Suspense>
        ) : page === "alerts" ? (
          <AlertsPage key={org} org={org} search={location.search} />
        ) : page === "audit" ? (
          <AuditPage key={org} org={org} />
        ) : (
          <LogsPage key={org} org={org} search={location.search} user={me.email} />
        )}
      </main>
    </div>
  );
}
