import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import { ApiOk, ok } from '../common';
import { IssuedPushSecret, PushService } from './push.service';

/** Operators' side of meter push: the meters' secrets. */
@ApiTags('meters')
@ApiBearerAuth()
@Controller('meters')
export class PushSecretsController {
  constructor(private readonly push: PushService) {}

  @Post(':id/push-secret')
  @HttpCode(201)
  @Roles('admin', 'operator')
  @ApiOperation({
    summary: "Create or rotate a meter's push secret (roles: admin, operator); shown once, stored encrypted",
  })
  async issueSecret(
    @Param('id') id: string,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<IssuedPushSecret>> {
    return ok(await this.push.issueSecret(id, user, scope), 'Push secret created; it is shown only once');
  }
}
