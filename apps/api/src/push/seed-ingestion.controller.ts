import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/decorators';
import type { HttpRequest } from '../common/http-types';
import { SeedIngestionResult, SeedIngestionService } from './seed-ingestion.service';

/** The seed system's meter push on the api port, for its simulator and field devices (docs/push.md). */
@ApiTags('meters')
@Controller('meters')
export class SeedIngestionController {
  constructor(private readonly seed: SeedIngestionService) {}

  @Post('data-ingestion')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    summary:
      "The seed system's meter push (off unless METER_INGESTION_KEY is set; `authentication` = that key)",
    description:
      'Body validated by the service with unknown fields stripped: the seed devices send it unchanged.',
  })
  async dataIngestion(@Req() req: HttpRequest): Promise<{ success: true } & SeedIngestionResult> {
    return { success: true, ...(await this.seed.ingest(req.body)) };
  }
}
