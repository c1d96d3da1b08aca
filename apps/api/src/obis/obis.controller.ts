import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, type ApiOk } from '../common/envelope';
import { ObisDefinitionDto, ObisListQueryDto } from './obis.dto';
import { ObisService } from './obis.service';

/** The OBIS catalog: readable by every authenticated role. */
@ApiTags('obis')
@ApiBearerAuth()
@Controller('obis')
export class ObisController {
  constructor(private readonly obis: ObisService) {}

  @Get()
  @ApiOperation({ summary: 'OBIS catalog (optionally only writable or only default codes)' })
  @ApiOkResponse({ type: [ObisDefinitionDto] })
  async list(@Query() query: ObisListQueryDto): Promise<ApiOk<ObisDefinitionDto[]>> {
    return ok(await this.obis.list({ access: query.access, isDefault: query.default }));
  }

  @Get(':code')
  @ApiOperation({ summary: 'One OBIS code, in any accepted spelling (400 when malformed, 404 when unknown)' })
  @ApiOkResponse({ type: ObisDefinitionDto })
  async get(@Param('code') code: string): Promise<ApiOk<ObisDefinitionDto>> {
    return ok(await this.obis.get(code));
  }
}
