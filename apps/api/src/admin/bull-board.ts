import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES } from '@app/contracts';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, Response } from 'express';
import { AuthService } from '../auth/auth.service';
import { BoardSessionCheck, BoardSessionService } from './board-session.service';

export const BULL_BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'hes_board_session';

function sessionFromCookie(header: string | undefined): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [name, ...rest] = part.trim().split('=');
    if (name === BOARD_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function deny(res: Response, status: 400 | 401 | 403 | 503, message: string): void {
  const error = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }[
    status
  ];
  res.status(status).json({ success: false, message, error });
}

/**
 * Bull Board can retry and remove jobs, so it is for admins only: a board session cookie (from
 * POST /api/auth/board-session, 15 minutes, this path only) or, for scripts, an admin's API token in the
 * Authorization header. Never a token in the URL: URLs end up in browser history, proxy and access logs.
 */
function adminOnly(sessions: BoardSessionService, auth: AuthService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (req.query.token !== undefined) {
      return deny(
        res,
        400,
        'Tokens are not accepted in URLs: open a session with POST /api/auth/board-session',
      );
    }
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/i)?.[1];
    const session = sessionFromCookie(req.headers.cookie);
    if (!bearer && !session) {
      return deny(
        res,
        401,
        'Authentication required: open a session with POST /api/auth/board-session (admin)',
      );
    }
    let check: BoardSessionCheck;
    if (bearer) {
      check = await auth.verifyAccessToken(bearer).then(
        (user) => (user.role === 'admin' ? 'admin' : 'not-admin'),
        () => 'invalid' as const,
      );
    } else {
      check = await sessions.check(session!);
    }
    if (check === 'invalid') return deny(res, 401, 'Invalid or expired session or token');
    if (check === 'not-admin') return deny(res, 403, 'Bull Board is for admins only');
    next();
  };
}

/** Serves Bull Board for the api's queues at /admin/queues (outside the /api prefix). */
export function mountBullBoard(app: NestExpressApplication): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const queues = Object.values(QUEUES).map(
    (name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name), { strict: false })),
  );
  createBullBoard({ queues, serverAdapter });
  const guard = adminOnly(
    app.get(BoardSessionService, { strict: false }),
    app.get(AuthService, { strict: false }),
  );
  app.use(
    BULL_BOARD_PATH,
    (req: Request, res: Response, next: NextFunction) => {
      // The user lookup needs PostgreSQL: while it is away the board answers 503, never a crash.
      guard(req, res, next).catch(() => deny(res, 503, 'Database unavailable; try again shortly'));
    },
    serverAdapter.getRouter(),
  );
}
