import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, ApiPageEnvelope, ok } from '../common';
import {
  BatchConfigurationResultDto,
  ConfigureOnlineDto,
  CreateMeterDto,
  EnableAllOnlineDto,
  ListMetersQueryDto,
  MeterDto,
  MeterPageDto,
  MeterPaginationDto,
  UpdateMeterDto,
} from './meters.dto';
import { MetersService } from './meters.service';

const METER_PARAM = { name: 'id', description: 'Meter id (uuid) or meterNumber' };

function configuredMessage(result: BatchConfigurationResultDto): string {
  const status = result.configuration.status;
  return status === 'online'
    ? `Configured ${result.matchedCount} meters for online monitoring`
    : `Configured ${result.matchedCount} meters with status ${status}`;
}

/**
 * The meter registry. Static routes (batch/...) are declared before the `:id` routes; `:id` matches a
 * single path segment, so multi-segment routes of other controllers (polling/status, :id/read-obis, …)
 * are never captured by it.
 */
@ApiTags('meters')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('meters')
@AuditTarget('meter')
export class MetersController {
  constructor(private readonly meters: MetersService) {}

  @Post('batch/enable-all-online')
  @HttpCode(200)
  @Roles('admin')
  @ApiBody({ type: EnableAllOnlineDto, required: false })
  @ApiOperation({
    summary: 'Set every live meter not in warehouse/faulty to online with one address (roles: admin)',
    description: 'ipAddress/port default to METER_HOST/METER_PORT. The message counts the matched meters.',
  })
  @ApiOkEnvelope(BatchConfigurationResultDto)
  @ApiErrors([400], { 400: 'Invalid body, or an address outside METER_ALLOWED_NETWORKS' })
  async enableAllOnline(
    @Body() dto: EnableAllOnlineDto,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<BatchConfigurationResultDto>> {
    const result = await this.meters.enableAllOnline(dto, user, scope);
    return ok(result, configuredMessage(result));
  }

  @Post('batch/configure-online')
  @HttpCode(200)
  @Roles('admin', 'operator')
  @ApiOperation({
    summary:
      'Configure the listed meters (ids or meter numbers) for online monitoring (roles: admin, operator)',
    description:
      'All or nothing: if any listed meter does not exist (or is deleted), the answer is 404 naming them and ' +
      'no meter is changed. status defaults to online; ipAddress/port to METER_HOST/METER_PORT.',
  })
  @ApiOkEnvelope(BatchConfigurationResultDto)
  @ApiErrors([400, 404], { 404: 'Some listed meters do not exist (named); nothing was changed' })
  async configureOnline(
    @Body() dto: ConfigureOnlineDto,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<BatchConfigurationResultDto>> {
    const result = await this.meters.configureOnline(dto, user, scope);
    return ok(result, configuredMessage(result));
  }

  @Get()
  @ApiOperation({ summary: 'List live meters with filters and pagination (any role)' })
  @ApiPageEnvelope(MeterDto, MeterPaginationDto)
  @ApiErrors([400])
  async list(@Query() query: ListMetersQueryDto, @Scope() scope: AccessScope): Promise<MeterPageDto> {
    return this.meters.list(query, scope);
  }

  @Post()
  @HttpCode(201)
  @Roles('admin', 'operator')
  @ApiOperation({
    summary: 'Create a meter, ready for online monitoring (roles: admin, operator)',
    description:
      'ipAddress/port default to METER_HOST/METER_PORT, status to online. 409 on a duplicate meterNumber.',
  })
  @ApiOkEnvelope(MeterDto, { status: 201, description: 'Created' })
  @ApiErrors([400, 409], { 409: 'A live meter already has this meterNumber' })
  async create(@Body() dto: CreateMeterDto, @Scope() scope: AccessScope): Promise<ApiOk<MeterDto>> {
    return ok(await this.meters.create(dto, scope), 'Meter created');
  }

  @Get(':id')
  @ApiParam(METER_PARAM)
  @ApiOperation({ summary: 'Get a live meter by id or meterNumber (any role)' })
  @ApiOkEnvelope(MeterDto)
  @ApiErrors([404])
  async get(@Param('id') id: string, @Scope() scope: AccessScope): Promise<ApiOk<MeterDto>> {
    return ok(await this.meters.getView(id, scope));
  }

  @Patch(':id')
  @ApiParam(METER_PARAM)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Update a meter (roles: admin, operator)' })
  @ApiOkEnvelope(MeterDto)
  @ApiErrors([400, 404, 409], { 409: 'A live meter already has this meterNumber' })
  async update(
    @Param('id') id: string,
    @Body() dto: UpdateMeterDto,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<MeterDto>> {
    return ok(await this.meters.update(id, dto, user, scope), 'Meter updated');
  }

  @Delete(':id')
  @ApiParam(METER_PARAM)
  @Roles('admin')
  @ApiOperation({
    summary:
      'Soft-delete a meter: never polled again, gone from lists; its number can be reused (roles: admin)',
  })
  @ApiOkEnvelope(MeterDto, { description: 'The meter as it was' })
  @ApiErrors([404])
  async remove(@Param('id') id: string, @Scope() scope: AccessScope): Promise<ApiOk<MeterDto>> {
    return ok(await this.meters.remove(id, scope), 'Meter deleted');
  }
}
