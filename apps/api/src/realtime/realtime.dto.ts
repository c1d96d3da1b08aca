import { ApiProperty } from '@nestjs/swagger';
import type { RealtimeStats } from './realtime.controller';

/** GET /api/realtime/stats: this api instance's live-update delivery (see RealtimeDeliveryStats). */
export class RealtimeStatsDto implements RealtimeStats {
  @ApiProperty({ description: 'Socket.IO clients connected to this instance' }) connectedClients!: number;
  @ApiProperty({ description: 'Room memberships of those clients' }) roomMemberships!: number;
  @ApiProperty({ description: "Numbered events (from this system's publishers) read from the stream" })
  received!: number;
  @ApiProperty({ description: "Events handed to this instance's Socket.IO server" }) accepted!: number;
  @ApiProperty({ description: 'Events that never reached this instance (sequence gaps)' }) lost!: number;
  @ApiProperty({ description: 'Number of gaps (each may cover several events)' }) gaps!: number;
  @ApiProperty({ description: 'Repeated or out-of-order events, not delivered' }) duplicates!: number;
  @ApiProperty({ description: 'Stream entries that could not be decoded or delivered' }) malformed!: number;
  @ApiProperty({ description: "Times the stream reader's Redis connection dropped" })
  readerInterruptions!: number;
  @ApiProperty() readerConnected!: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'Id of the last stream entry read' })
  streamOffset!: string | null;
  @ApiProperty({ description: 'Publishers seen' }) publishers!: number;
  @ApiProperty({ description: 'Reconnecting clients given the events they missed' })
  recoveredSessions!: number;
  @ApiProperty({ description: 'Events given to those clients' }) recoveredEvents!: number;
  @ApiProperty({ description: 'Recovered clients that may have missed events' }) recoveryGaps!: number;
}
