import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, paginated, type ApiOk, type ApiPage } from '../common/envelope';
import { ApiErrors, ApiOkEnvelope, ApiPageEnvelope } from '../common/openapi';
import { AccessScope, Scope } from '../auth/access-scope';
import {
  BucketPointDto,
  HistoryQueryDto,
  LatestReadingDto,
  ReadRecordDto,
  SeriesPointDto,
} from './readings.dto';
import { ReadingsService } from './readings.service';

/** Stored OBIS readings of a meter, for every authenticated role. `:id` is the meter's id or number. */
@ApiTags('readings')
@ApiBearerAuth()
@ApiErrors([401, 404, 503], { 404: 'No such meter (or deleted)' })
@Controller('meters/:id/obis-readings')
export class ReadingsController {
  constructor(private readonly readings: ReadingsService) {}

  @Get()
  @ApiOperation({ summary: 'The latest read that returned values, and the latest attempt' })
  @ApiOkEnvelope(LatestReadingDto)
  async latest(@Param('id') id: string, @Scope() scope: AccessScope): Promise<ApiOk<LatestReadingDto>> {
    return ok(await this.readings.latest(id, scope));
  }

  @Get('history')
  @ApiOperation({
    summary:
      'Read records (newest first); with obisCode a [{ timestamp, value, unit }] series (oldest first); ' +
      'with bucket=15m|1h|1d per-bucket avg/min/max/last/count',
  })
  @ApiPageEnvelope([ReadRecordDto, SeriesPointDto, BucketPointDto])
  @ApiErrors([400], { 400: 'Invalid dates, range over 31 days, bad code or limit' })
  async history(
    @Param('id') id: string,
    @Query() query: HistoryQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiPage<unknown>> {
    const result = await this.readings.history(id, query, scope);
    return paginated<unknown>(result.data, result.total, result.page, result.limit);
  }
}
