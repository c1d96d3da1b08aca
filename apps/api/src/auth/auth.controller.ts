import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
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

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The authenticated user (any role)' })
  @ApiOkEnvelope(UserDto)
  @ApiErrors([401, 503])
  async me(@CurrentUser() current: AuthUser): Promise<ApiOk<UserDto>> {
    const user = await this.users.findById(current.id);
    return ok(toUserDto(user!));
  }
}
