import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { AccessScope, Scope } from '../auth/access-scope';
import { ApiBearerAuth, ApiExtraModels, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ok, type ApiOk } from '../common/envelope';
import { ApiErrors, ApiOkEnvelope } from '../common/openapi';
import {
  ClockDriftQueryDto,
  ClockDriftReportDto,
  CompletenessDto,
  CompletenessQueryDto,
  FleetCompletenessDto,
  FleetCompletenessQueryDto,
  LoadProfileDto,
  LoadProfileQueryDto,
  ProfileValueDto,
} from './load-profiles.dto';
import { LoadProfilesService } from './load-profiles.service';

/** A meter's load profile (interval data) and its completeness, for every authenticated role. */
@ApiTags('load profiles')
@ApiBearerAuth()
@ApiExtraModels(ProfileValueDto)
@ApiParam({ name: 'id', description: 'Meter id (uuid) or meterNumber' })
@ApiErrors([400, 401, 404, 503], {
  400: 'Invalid dates, reversed or too long a range',
  404: "No such meter (or deleted, or outside the caller's areas)",
})
@Controller('meters/:id/load-profile')
export class LoadProfilesController {
  constructor(private readonly profiles: LoadProfilesService) {}

  @Get()
  @ApiOperation({
    summary:
      'Load profile entries (1-0:99.1.0.255) in [from, to): UTC timestamps, physical values by OBIS code, status flags',
  })
  @ApiOkEnvelope(LoadProfileDto, {
    description:
      'The entries; with format=csv a text/csv attachment: timestamp, one column per OBIS code [unit], status, flags',
    alternatives: { 'text/csv': { type: 'string' } },
  })
  async get(
    @Param('id') id: string,
    @Query() query: LoadProfileQueryDto,
    @Res({ passthrough: true }) res: Response,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<LoadProfileDto> | string> {
    const profile = await this.profiles.loadProfile(id, query, scope);
    if (query.format !== 'csv') return ok(profile);
    res.type('text/csv');
    res.setHeader('Content-Disposition', `attachment; filename="${profile.meterNumber}-load-profile.csv"`);
    return this.profiles.toCsv(profile);
  }

  @Get('completeness')
  @ApiOperation({ summary: 'Expected, collected and missing intervals in [from, to), per UTC day' })
  @ApiOkEnvelope(CompletenessDto)
  async completeness(
    @Param('id') id: string,
    @Query() query: CompletenessQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<CompletenessDto>> {
    return ok(await this.profiles.completeness(id, query, scope));
  }
}

/** Fleet reports on interval data and meter clocks. */
@ApiTags('reports')
@ApiBearerAuth()
@ApiErrors([400, 401, 404, 503], {
  400: 'Invalid query',
  404: "No such area (or outside the caller's areas)",
})
@Controller('reports')
export class ReportsController {
  constructor(private readonly profiles: LoadProfilesService) {}

  @Get('completeness')
  @ApiOperation({
    summary:
      'Load profile completeness KPI of a UTC day: meters with every interval, with gaps, share collected, worst meters',
  })
  @ApiOkEnvelope(FleetCompletenessDto)
  async completeness(
    @Query() query: FleetCompletenessQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<FleetCompletenessDto>> {
    return ok(await this.profiles.fleetCompleteness(query, scope));
  }

  @Get('clock-drift')
  @ApiOperation({
    summary: 'Meters whose clock is furthest from true time, flagged beyond CLOCK_DRIFT_MAX_S',
  })
  @ApiOkEnvelope(ClockDriftReportDto)
  async clockDrift(
    @Query() query: ClockDriftQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<ClockDriftReportDto>> {
    return ok(await this.profiles.clockDrift(query, scope));
  }
}
