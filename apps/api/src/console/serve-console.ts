import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NextFunction, Request, Response } from 'express';

/** Paths the console must never answer for: the api, live updates, Bull Board, metrics. */
export const CONSOLE_EXCLUDED_PREFIXES = ['/api', '/socket.io', '/admin', '/metrics'] as const;

function isExcluded(urlPath: string): boolean {
  return CONSOLE_EXCLUDED_PREFIXES.some((p) => urlPath === p || urlPath.startsWith(`${p}/`));
}

/**
 * Serves the operator console (a static Vite build) on the api's own origin, so that the browser talks to
 * `/api` and Socket.IO without CORS. Hashed files under /assets are cached for a year; index.html is
 * revalidated on every load so a new build is picked up at once. Any other GET that wants HTML and is not
 * under an excluded prefix gets index.html (client-side routes such as /meters/MTR-001 survive a reload).
 */
export function serveConsole(app: NestExpressApplication, consoleDir: string): void {
  const root = path.resolve(consoleDir);
  const indexFile = path.join(root, 'index.html');
  if (!fs.existsSync(indexFile)) {
    new Logger('Console').warn(`no console build at ${root} (npm run build makes it): / is not served`);
    return;
  }
  app.useStaticAssets(root, {
    index: false,
    redirect: false,
    setHeaders: (res, file) => {
      const immutable = file.startsWith(path.join(root, 'assets') + path.sep);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isExcluded(req.path)) return next();
    // A missing build file is a 404, not a page: a stale tab asking for an old chunk must not get HTML.
    if (req.path.startsWith('/assets/')) return next();
    if (!req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile);
  });
}
