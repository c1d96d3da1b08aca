import { useQueryClient } from '@tanstack/react-query';
import { useEffect, type ReactNode } from 'react';
import { adminPage, ADMIN_PAGES } from './admin';
import { useCan, useSession } from './auth';
import { ScopeBadge } from './components/ScopeBadge';
import { LiveProvider, useConnected } from './live';
import { AreasPage } from './pages/Areas';
import { COMPLETENESS_PATH, CompletenessPage } from './pages/Completeness';
import { FleetPage } from './pages/Fleet';
import { LoginPage } from './pages/Login';
import { MeterPage } from './pages/Meter';
import { MetersPage } from './pages/Meters';
import { UsersPage } from './pages/Users';
import { Link, navigate, useLocation } from './router';
import { session } from './session';

export function App() {
  const current = useSession();
  const queryClient = useQueryClient();
  useEffect(() => {
    // Nothing of one user's data survives into another user's session.
    if (!current) queryClient.clear();
  }, [current, queryClient]);
  if (!current) return <LoginPage />;
  return (
    <LiveProvider token={current.token}>
      <Shell>
        <Routes />
      </Shell>
    </LiveProvider>
  );
}

function Routes() {
  const { pathname } = useLocation();
  const can = useCan();
  const meter = /^\/meters\/([^/]+)$/.exec(pathname);
  if (meter) return <MeterPage id={decodeURIComponent(meter[1]!)} />;
  const admin = can.administer ? adminPage(pathname) : null;
  if (admin) return admin;
  switch (pathname) {
    case '/':
      return <FleetPage />;
    case '/meters':
      return <MetersPage />;
    case '/areas':
      return <AreasPage />;
    case COMPLETENESS_PATH:
      return <CompletenessPage />;
    case '/users':
      return can.administer ? <UsersPage /> : <NotFound />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        <Link to="/">Back to the fleet overview</Link>
      </p>
    </section>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const current = useSession();
  const can = useCan();
  const connected = useConnected();
  const { pathname } = useLocation();
  const nav: [string, string][] = [
    ['/', 'Fleet'],
    ['/meters', 'Meters'],
    ['/areas', 'Areas'],
    [COMPLETENESS_PATH, 'Data completeness'],
  ];
  if (can.administer) nav.push(['/users', 'Users'], ...ADMIN_PAGES);
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Smart HES</span>
        <nav aria-label="Main">
          {nav.map(([to, label]) => (
            <Link
              key={to}
              to={to}
              aria-current={(to === '/' ? pathname === '/' : pathname.startsWith(to)) ? 'page' : undefined}
            >
              {label}
            </Link>
          ))}
        </nav>
        <span className={connected ? 'live on' : 'live off'} data-testid="live-indicator">
          {connected ? 'Live' : 'Reconnecting…'}
        </span>
        <span className="who">
          {current?.user.username} <span className="role">({current?.user.role})</span> <ScopeBadge />
        </span>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            session.clear();
            navigate('/');
          }}
        >
          Log out
        </button>
      </header>
      <main>{children}</main>
    </div>
  );
}
