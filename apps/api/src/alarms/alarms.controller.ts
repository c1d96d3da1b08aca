import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import {
  ApiErrors,
  ApiOk,
  ApiOkEnvelope,
  ApiPage,
  ApiPageEnvelope,
  ok,
  paginated,
  ParseIdPipe,
} from '../common';
import { AlarmDto, ListAlarmsQueryDto } from './alarms.dto';
import { AlarmsService } from './alarms.service';

@ApiTags('alarms')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('alarms')
export class AlarmsController {
  constructor(private readonly alarms: AlarmsService) {}

  @Get()
  @ApiOperation({
    summary: 'Alarms pushed by meters, newest first (filters state, area, meter; page, limit ≤ 100)',
    description: 'pagination.total stops counting at 10,000.',
  })
  @ApiPageEnvelope(AlarmDto)
  @ApiErrors([400])
  async list(@Query() query: ListAlarmsQueryDto, @Scope() scope: AccessScope): Promise<ApiPage<AlarmDto>> {
    const { rows, total } = await this.alarms.list(
      { areaIds: scope.areaIds, state: query.state, areaId: query.area?.toLowerCase(), meter: query.meter },
      query.page,
      query.limit,
    );
    return paginated(rows, total, query.page, query.limit);
  }

  @Post(':id/ack')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Acknowledge an open alarm (roles: admin, operator); 409 when it is not open' })
  @ApiParam({ name: 'id', description: 'Alarm id (uuid)' })
  @ApiOkEnvelope(AlarmDto)
  @ApiErrors([400, 404, 409], {
    400: 'The id is not a uuid',
    404: "No such alarm (or outside the caller's areas)",
    409: 'The alarm is not open (acknowledged or cleared): nothing was changed',
  })
  async acknowledge(
    @Param('id', ParseIdPipe) id: string,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<AlarmDto>> {
    return ok(await this.alarms.acknowledge(id, user, scope), 'Alarm acknowledged');
  }
}
