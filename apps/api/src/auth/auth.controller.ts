import { Body, Controller, Get, HttpCode, NotFoundException, Post, UseGuards } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { UserDto } from '../users/users.dto';
import { toUserDto, UsersService } from '../users/users.service';
import { LoginDto, LoginResultDto } from './auth.dto';
import { AuthService } from './auth.service';
import type { AuthUser } from './auth-user';
import { CurrentUser, Public } from './decorators';
import { LoginThrottlerGuard } from './login-throttler.guard';

@ApiTags('auth')
@Controller('auth')
@AuditTarget('session')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard)
  @ApiOperation({ summary: 'Exchange username and password for an access token (public, rate limited)' })
  @ApiOkEnvelope(LoginResultDto)
  @ApiErrors([400, 401, 429, 503], {
    401: 'Wrong username or password, or the user is deactivated',
    429: 'Too many logins from this address: retry after the Retry-After header',
  })
  async login(@Body() dto: LoginDto): Promise<ApiOk<LoginResultDto>> {
    const { token, user } = await this.auth.login(dto.username, dto.password);
    return ok({ token, user: toUserDto(user) }, 'Logged in');
  }

  @Post('logout')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "End the caller's tokens: every access token of this user stops working at once and their live " +
      'sockets are disconnected (API keys are revoked with DELETE /api/api-keys/:id instead)',
  })
  @ApiOkEnvelope(null, { description: 'Logged out (for an API key: nothing to end, the key stays valid)' })
  @ApiErrors([401, 503])
  async logout(@CurrentUser() current: AuthUser): Promise<ApiOk<null>> {
    await this.auth.logout(current);
    return ok(null, current.kind === 'user' ? 'Logged out' : 'API keys have no session to end');
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The authenticated user (any role)' })
  @ApiOkEnvelope(UserDto)
  @ApiErrors([401, 503])
  async me(@CurrentUser() current: AuthUser): Promise<ApiOk<UserDto>> {
    const user = current.kind === 'user' ? await this.users.findById(current.id) : undefined;
    if (!user) throw new NotFoundException('This credential is an API key, not a user');
    return ok(toUserDto(user));
  }
}
