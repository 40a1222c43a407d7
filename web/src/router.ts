// A tiny router over the History API: the path picks the page, the query string holds its state.
import { useEffect, useState } from "react";

export interface Location {
  path: string;
  search: string;
}

const current = (): Location => ({ path: window.location.pathname, search: window.location.search });

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    window.addEventListener("popstate", update);
    window.addEventListener("kansoku:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("kansoku:navigate", update);
    };
  }, []);
  return location;
}

let guard: ((target: URL) => boolean) | undefined;

/** A check made before each navigation (e.g. unsaved changes); it answers false to stay. */
export function setNavigationGuard(check: ((target: URL) => boolean) | undefined) {
  guard = check;
}

/** Goes to `url`; `replace` rewrites the current history entry (state tweaks), else pushes one. */
export function navigate(url: string, replace = false) {
  const target = new URL(url, window.location.origin);
  if (target.pathname + target.search === window.location.pathname + window.location.search) return;
  if (guard && !guard(target)) return;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event("kansoku:navigate"));
}
