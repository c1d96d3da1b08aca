import { Module } from '@nestjs/common';
import { AreasModule } from '../areas/areas.module';
import { AuthModule } from '../auth/auth.module';
import { SessionRevocationModule } from '../auth/session-revocation';
import { MetersModule } from '../meters/meters.module';
import { RealtimeController } from './realtime.controller';
import { RealtimeDeliveryMonitor } from './realtime-delivery.monitor';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimeRoomMembership } from './realtime-rooms.membership';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeRoomsService } from './realtime-rooms.service';
import { RealtimeSessionChecker } from './realtime-session-checker';

/**
 * Live meter updates over Socket.IO (seed guide "Real-Time Updates"). The Redis adapter that brings the
 * workers' events to this instance is installed by RealtimeIoAdapter (see bootstrap).
 */
@Module({
  imports: [AuthModule, SessionRevocationModule, MetersModule, AreasModule],
  controllers: [RealtimeController],
  providers: [
    RealtimeGateway,
    RealtimeRoomsService,
    RealtimeRoomMembership,
    RealtimeSessionChecker,
    RealtimeDeliveryMonitor,
    RealtimeMetrics,
  ],
  exports: [RealtimeDeliveryMonitor],
})
export class RealtimeModule {}
