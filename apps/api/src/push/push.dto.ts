import type { CommunicationStatus } from '@app/contracts';
import { ApiProperty } from '@nestjs/swagger';
import type { AcceptedRead, IssuedPushSecret } from './push.service';
import type { SeedIngestionResult } from './seed-ingestion.service';

/** The answers of the push routes, as the OpenAPI document describes them. */
export class AcceptedReadDto implements AcceptedRead {
  @ApiProperty() meterId!: string;
  @ApiProperty({ description: 'The reading instant, UTC' }) readAt!: string;
  @ApiProperty({ enum: ['success', 'partial', 'failed'] }) communicationStatus!: CommunicationStatus;
  @ApiProperty({ description: 'Values accepted' }) values!: number;
}

export class IssuedPushSecretDto implements IssuedPushSecret {
  @ApiProperty() meterId!: string;
  @ApiProperty() meterNumber!: string;
  @ApiProperty({ description: 'Shown once: only its encrypted form is stored' }) secret!: string;
  @ApiProperty({ description: 'How the meter signs its pushes with it' }) header!: string;
}

export class SeedIngestionResultDto implements SeedIngestionResult {
  @ApiProperty({ description: 'Readings stored (0 or 1)' }) readings!: number;
  @ApiProperty({ description: 'Events raised as alarms' }) alarms!: number;
}
