import { Controller, Delete, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { BOARD_COOKIE, BULL_BOARD_PATH } from './bull-board';
import { BOARD_SESSION_TTL_S, BoardSessionService } from './board-session.service';

export class BoardSessionDto {
  @ApiProperty({ example: BULL_BOARD_PATH, description: 'Where the session cookie is valid' })
  path!: string;
  @ApiProperty({ format: 'date-time' })
  expiresAt!: string;
}

/** The board cookie: only for the board's path, never readable by scripts, never sent cross-site. */
function cookieOptions(req: Request) {
  // req.secure follows X-Forwarded-Proto only from a proxy TRUST_PROXY names.
  return { httpOnly: true, sameSite: 'strict' as const, path: BULL_BOARD_PATH, secure: req.secure };
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('auth/board-session')
export class BoardSessionController {
  constructor(private readonly sessions: BoardSessionService) {}

  @Post()
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: `Open Bull Board for ${BOARD_SESSION_TTL_S / 60} minutes (admin): sets an HttpOnly cookie for ${BULL_BOARD_PATH}`,
  })
  @ApiOkEnvelope(BoardSessionDto, { description: 'Session opened: the Set-Cookie header carries it' })
  @ApiErrors([401, 403, 503])
  async open(
    @CurrentUser() user: AuthUser,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApiOk<BoardSessionDto>> {
    const token = await this.sessions.issue(user.id);
    res.cookie(BOARD_COOKIE, token, { ...cookieOptions(req), maxAge: BOARD_SESSION_TTL_S * 1000 });
    const expiresAt = new Date(Date.now() + BOARD_SESSION_TTL_S * 1000).toISOString();
    return ok({ path: BULL_BOARD_PATH, expiresAt }, 'Bull Board session opened');
  }

  @Delete()
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Close the Bull Board session of this browser (clears its cookie)' })
  @ApiOkEnvelope(null, { description: 'Session closed: the Set-Cookie header clears it' })
  @ApiErrors([401, 403])
  close(@Req() req: Request, @Res({ passthrough: true }) res: Response): ApiOk<null> {
    res.clearCookie(BOARD_COOKIE, cookieOptions(req));
    return ok(null, 'Bull Board session closed');
  }
}
