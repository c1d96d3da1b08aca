import type { HttpRequest, HttpResponse, NextFn } from '../common/http-types';

/** Paths the push listener serves (and the operators' port does not). */
export function isPushPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/push' || url.startsWith('/push/') || url.startsWith('/push?'));
}

/**
 * The operators' port answers everything but /push/*: those are the meters' routes, served by the push
 * listener (PUSH_PORT, PushListener) without Express. Installed first, before body parsing.
 */
export function pushPortGate(req: HttpRequest, res: HttpResponse, next: NextFn): void {
  if (!isPushPath(req.url)) return next();
  const path = (req.url ?? '').split('?')[0];
  res.status(404).json({ success: false, message: `Cannot ${req.method} ${path}`, error: 'Not Found' });
}
