import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES } from '@app/contracts';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, Response } from 'express';
import { AuthService } from '../auth/auth.service';

export const BULL_BOARD_PATH = '/admin/queues';
const COOKIE = 'hes_board_token';

function tokenFromCookie(header: string | undefined): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function deny(res: Response, status: 401 | 403, message: string): void {
  res.status(status).json({ success: false, message, error: status === 401 ? 'Unauthorized' : 'Forbidden' });
}

/**
 * Bull Board can retry and remove jobs, so it is for admins only. A browser cannot send a bearer header,
 * so the first visit carries the token once in the query (`/admin/queues?token=<JWT>`); it is moved into
 * an HttpOnly cookie scoped to the board and the query is dropped with a redirect.
 */
function adminOnly(auth: AuthService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const queryToken = typeof req.query.token === 'string' ? req.query.token : undefined;
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/i)?.[1];
    const token = bearer ?? queryToken ?? tokenFromCookie(req.headers.cookie);
    if (!token) {
      return deny(res, 401, `Authentication required: open ${BULL_BOARD_PATH}?token=<an admin's JWT>`);
    }
    try {
      const user = await auth.verifyAccessToken(token);
      if (user.role !== 'admin') return deny(res, 403, 'Bull Board is for admins only');
    } catch {
      return deny(res, 401, 'Invalid or expired token');
    }
    if (queryToken && !bearer) {
      res.cookie(COOKIE, queryToken, { httpOnly: true, sameSite: 'strict', path: BULL_BOARD_PATH });
      return res.redirect(302, BULL_BOARD_PATH);
    }
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
  app.use(BULL_BOARD_PATH, adminOnly(app.get(AuthService, { strict: false })), serverAdapter.getRouter());
}
