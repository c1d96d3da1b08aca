import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, type ApiOk } from '../common/envelope';
import { ApiErrors, ApiOkEnvelope } from '../common/openapi';
import { ObisDefinitionDto, ObisListQueryDto } from './obis.dto';
import { ObisService } from './obis.service';

/** The OBIS catalog: readable by every authenticated role. */
@ApiTags('obis')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('obis')
export class ObisController {
  constructor(private readonly obis: ObisService) {}

  @Get()
  @ApiOperation({ summary: 'OBIS catalog (optionally only writable or only default codes)' })
  @ApiOkEnvelope(ObisDefinitionDto, { isArray: true })
  @ApiErrors([400])
  async list(@Query() query: ObisListQueryDto): Promise<ApiOk<ObisDefinitionDto[]>> {
    return ok(await this.obis.list({ access: query.access, isDefault: query.default }));
  }

  @Get(':code')
  @ApiOperation({ summary: 'One OBIS code, in any accepted spelling (400 when malformed, 404 when unknown)' })
  @ApiOkEnvelope(ObisDefinitionDto)
  @ApiErrors([400, 404], { 400: 'Not an OBIS code', 404: 'No such code in the catalog' })
  async get(@Param('code') code: string): Promise<ApiOk<ObisDefinitionDto>> {
    return ok(await this.obis.get(code));
  }
}
