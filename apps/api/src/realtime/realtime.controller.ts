import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { RealtimeStatsDto } from './realtime.dto';
import { RealtimeDeliveryMonitor, RealtimeDeliveryStats } from './realtime-delivery.monitor';
import { RealtimeGateway } from './realtime.gateway';

export type RealtimeStats = RealtimeDeliveryStats & { connectedClients: number; roomMemberships: number };

@ApiTags('realtime')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('realtime')
export class RealtimeController {
  constructor(
    private readonly monitor: RealtimeDeliveryMonitor,
    private readonly gateway: RealtimeGateway,
  ) {}

  @Get('stats')
  @Roles('admin')
  @ApiOperation({
    summary:
      "This api instance's live-update delivery: clients, rooms, events read from the Redis stream, events " +
      "lost or duplicated on the way (from the publishers' sequence numbers), and reconnecting clients " +
      'recovered with the events they missed. Admin only.',
  })
  @ApiOkEnvelope(RealtimeStatsDto)
  stats(): ApiOk<RealtimeStats> {
    return ok({ ...this.gateway.localStats(), ...this.monitor.stats() });
  }
}
