import { lazy, Suspense } from 'react';

/**
 * The admin-only pages that arrived with access control (issue 10): API keys and the audit trail. Loaded
 * on first visit (own chunks), so they add nothing to the first page's JavaScript. App.tsx shows them in
 * the navigation and routes to them for admins only; the api answers 403 to anyone else anyway.
 */
const ApiKeysPage = lazy(() => import('./pages/ApiKeys').then((m) => ({ default: m.ApiKeysPage })));
const AuditPage = lazy(() => import('./pages/Audit').then((m) => ({ default: m.AuditPage })));

export const ADMIN_PAGES: readonly [path: string, label: string][] = [
  ['/api-keys', 'API keys'],
  ['/audit', 'Audit'],
];

/** The admin page at `pathname`, or null when there is none. */
export function adminPage(pathname: string) {
  const Page = pathname === '/api-keys' ? ApiKeysPage : pathname === '/audit' ? AuditPage : null;
  return (
    Page && (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <Page />
      </Suspense>
    )
  );
}
