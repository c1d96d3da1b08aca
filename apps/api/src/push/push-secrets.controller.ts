import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Public, Roles } from '../auth/decorators';
import { ApiOk, ok } from '../common';
import type { HttpRequest } from '../common/http-types';
import { IssuedPushSecret, PushService } from './push.service';
import { SeedIngestionResult, SeedIngestionService } from './seed-ingestion.service';

/** Operators' side of meter push (api port): push secrets, and the seed system's ingestion route. */
@ApiTags('meters')
@Controller('meters')
export class PushSecretsController {
  constructor(
    private readonly push: PushService,
    private readonly seed: SeedIngestionService,
  ) {}

  @Post('data-ingestion')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    summary:
      "The seed system's meter push (off unless METER_INGESTION_KEY is set; `authentication` = that key)",
  })
  async dataIngestion(@Req() req: HttpRequest): Promise<{ success: true } & SeedIngestionResult> {
    return { success: true, ...(await this.seed.ingest(req.body)) };
  }

  @Post(':id/push-secret')
  @HttpCode(201)
  @ApiBearerAuth()
  @Roles('admin', 'operator')
  @ApiOperation({
    summary: "Create or rotate a meter's push secret (roles: admin, operator); shown once, stored encrypted",
  })
  async issueSecret(
    @Param('id') id: string,
    @CurrentUser() user: AuthUser,
  ): Promise<ApiOk<IssuedPushSecret>> {
    return ok(await this.push.issueSecret(id, user.id), 'Push secret created; it is shown only once');
  }
}
