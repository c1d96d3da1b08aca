import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { IssuedPushSecretDto } from './push.dto';
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
  @ApiParam({ name: 'id', description: 'Meter id (uuid) or meterNumber' })
  @ApiOkEnvelope(IssuedPushSecretDto, { status: 201 })
  @ApiErrors([401, 404, 503], { 404: "No such meter (or deleted, or outside the caller's areas)" })
  async issueSecret(
    @Param('id') id: string,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<IssuedPushSecret>> {
    return ok(await this.push.issueSecret(id, user, scope), 'Push secret created; it is shown only once');
  }
}
