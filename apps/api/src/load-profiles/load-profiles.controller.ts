import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { AccessScope, Scope } from '../auth/access-scope';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrorDto, ok, type ApiOk } from '../common/envelope';
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
@ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such meter (or deleted)' })
@ApiBadRequestResponse({ type: ApiErrorDto, description: 'Invalid dates, reversed or too long a range' })
@Controller('meters/:id/load-profile')
export class LoadProfilesController {
  constructor(private readonly profiles: LoadProfilesService) {}

  @Get()
  @ApiOperation({
    summary:
      'Load profile entries (1-0:99.1.0.255) in [from, to): UTC timestamps, physical values by OBIS code, status flags',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: LoadProfileDto })
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
  @ApiOkResponse({ type: CompletenessDto })
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
@ApiBadRequestResponse({ type: ApiErrorDto, description: 'Invalid query' })
@ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such area' })
@Controller('reports')
export class ReportsController {
  constructor(private readonly profiles: LoadProfilesService) {}

  @Get('completeness')
  @ApiOperation({
    summary:
      'Load profile completeness KPI of a UTC day: meters with every interval, with gaps, share collected, worst meters',
  })
  @ApiOkResponse({ type: FleetCompletenessDto })
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
  @ApiOkResponse({ type: ClockDriftReportDto })
  async clockDrift(
    @Query() query: ClockDriftQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<ClockDriftReportDto>> {
    return ok(await this.profiles.clockDrift(query, scope));
  }
}
