import { Body, Controller, Get, HttpCode, Put } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import { CurrentUser, Roles } from '../auth/decorators';
import type { AuthUser } from '../auth/auth-user';
import { ApiOk, ok } from '../common/envelope';
import { ApiErrors, ApiOkEnvelope } from '../common/openapi';
import { PollingIntervalDto, PollingStatusDto, SetPollingIntervalDto } from './polling.dto';
import { PollScheduleService } from './poll-schedule.service';
import { PollingStatusService } from './polling-status.service';

/** Registered before MetersModule's controller so `GET /api/meters/:id` does not capture `polling`. */
@ApiTags('polling')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('meters/polling')
@AuditTarget('polling')
export class PollingController {
  constructor(
    private readonly status: PollingStatusService,
    private readonly schedule: PollScheduleService,
  ) {}

  @Get('status')
  @ApiOperation({
    summary: 'State of scheduled polling across all workers (any authenticated role)',
  })
  @ApiOkEnvelope(PollingStatusDto)
  async getStatus(@Scope() scope: AccessScope): Promise<ApiOk<PollingStatusDto>> {
    return ok(await this.status.getStatus(scope));
  }

  @Put('interval')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Change the fleet-wide polling interval (role: admin)',
    description:
      'Stored in PostgreSQL and in force for every api and worker, whatever their METER_POLLING_INTERVAL ' +
      '(which only seeds a new database). The schedules are rewritten at once.',
  })
  @ApiOkEnvelope(PollingIntervalDto)
  @ApiErrors([400])
  async setInterval(
    @Body() dto: SetPollingIntervalDto,
    @CurrentUser() user: AuthUser,
  ): Promise<ApiOk<PollingIntervalDto>> {
    const result = await this.schedule.changeInterval(dto.intervalMs, user.username);
    return ok(result, `polling interval is now ${result.intervalMs} ms`);
  }
}
