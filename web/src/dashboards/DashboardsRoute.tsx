// The dashboards routes, loaded lazily (their own chunk): `/dashboards` lists,
// `/dashboards/view?dashboard=…` shows and edits one.
import { DashboardList } from "./DashboardList";
import { DashboardView } from "./DashboardView";
import "./dashboards.css";

export default function DashboardsRoute({ org, path, search, canEdit }: { org: string; path: string; search: string; canEdit: boolean }) {
  if (path.startsWith("/dashboards/view")) {
    const id = new URLSearchParams(search).get("dashboard") ?? "";
    return <DashboardView key={`${org}/${id}`} org={org} search={search} canEdit={canEdit} />;
  }
  return <DashboardList key={org} org={org} search={search} canEdit={canEdit} />;
}
