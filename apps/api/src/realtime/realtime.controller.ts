import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { ApiOk, ok } from '../common';
import { RealtimeDeliveryMonitor, RealtimeDeliveryStats } from './realtime-delivery.monitor';
import { RealtimeGateway } from './realtime.gateway';

export type RealtimeStats = RealtimeDeliveryStats & { connectedClients: number; roomMemberships: number };

@ApiTags('realtime')
@ApiBearerAuth()
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
  stats(): ApiOk<RealtimeStats> {
    return ok({ ...this.gateway.localStats(), ...this.monitor.stats() });
  }
}
