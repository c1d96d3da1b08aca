import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { Public } from '../auth/decorators';
import type { HttpRequest } from '../common/http-types';
import { SeedIngestionResultDto } from './push.dto';
import { SeedIngestionDto } from './seed-ingestion';
import { SeedIngestionService } from './seed-ingestion.service';

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
      'Body validated by the service with unknown fields stripped: the seed devices send it unchanged ' +
      '(docs/push.md). Nothing is stored unless all of it is valid.',
  })
  @ApiBody({ type: SeedIngestionDto })
  @ApiOkEnvelope(SeedIngestionResultDto, {
    description: 'Stored (a body already stored is not stored twice)',
  })
  @ApiErrors([400, 401, 404, 413, 429, 503], {
    401: '`authentication` does not match METER_INGESTION_KEY',
    404: 'The route is off (no METER_INGESTION_KEY), or no such meter',
    429: "Too many pushes from this meter: retry after the meter's push interval",
  })
  async dataIngestion(@Req() req: HttpRequest): Promise<ApiOk<SeedIngestionResultDto>> {
    return ok(await this.seed.ingest(req.body));
  }
}
