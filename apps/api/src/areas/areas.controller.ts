import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import { Roles } from '../auth/decorators';
import {
  ApiErrors,
  ApiOk,
  ApiOkEnvelope,
  ApiPage,
  ApiPageEnvelope,
  ok,
  paginated,
  PageQueryDto,
} from '../common';
import { AreaDto, CreateAreaDto, UpdateAreaDto } from './areas.dto';
import { AreasService, toAreaDto } from './areas.service';

const AREA_PARAM = { name: 'id', description: 'Area id (uuid) or code' };

@ApiTags('areas')
@ApiBearerAuth()
@ApiErrors([401, 503])
@Controller('areas')
@AuditTarget('area')
export class AreasController {
  constructor(private readonly areas: AreasService) {}

  @Get()
  @ApiOperation({ summary: 'List areas with their live meter count (any role)' })
  @ApiPageEnvelope(AreaDto)
  @ApiErrors([400])
  async list(@Query() query: PageQueryDto, @Scope() scope: AccessScope): Promise<ApiPage<AreaDto>> {
    const { rows, total } = await this.areas.list(query.page, query.limit, scope);
    return paginated(rows.map(toAreaDto), total, query.page, query.limit);
  }

  @Get(':id')
  @ApiParam(AREA_PARAM)
  @ApiOperation({ summary: 'Get an area by id or code (any role)' })
  @ApiOkEnvelope(AreaDto)
  @ApiErrors([404])
  async get(@Param('id') id: string, @Scope() scope: AccessScope): Promise<ApiOk<AreaDto>> {
    return ok(toAreaDto(await this.areas.getByIdOrCode(id, scope)));
  }

  @Post()
  @HttpCode(201)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Create an area (roles: admin, operator). 409 when the name or code exists.' })
  @ApiOkEnvelope(AreaDto, { status: 201, description: 'Created' })
  @ApiErrors([400, 409], { 409: 'An area already has this name or code' })
  async create(@Body() dto: CreateAreaDto, @Scope() scope: AccessScope): Promise<ApiOk<AreaDto>> {
    return ok(toAreaDto(await this.areas.create(dto, scope)), 'Area created');
  }

  @Patch(':id')
  @ApiParam(AREA_PARAM)
  @Roles('admin', 'operator')
  @ApiOperation({ summary: 'Update an area (roles: admin, operator). 409 when the name or code exists.' })
  @ApiOkEnvelope(AreaDto)
  @ApiErrors([400, 404, 409], { 409: 'An area already has this name or code' })
  async update(
    @Param('id') id: string,
    @Body() dto: UpdateAreaDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<AreaDto>> {
    return ok(toAreaDto(await this.areas.update(id, dto, scope)), 'Area updated');
  }

  @Delete(':id')
  @ApiParam(AREA_PARAM)
  @Roles('admin')
  @ApiOperation({ summary: 'Delete an area that no meter references (roles: admin). 409 otherwise.' })
  @ApiOkEnvelope(AreaDto, { description: 'The area as it was' })
  @ApiErrors([404, 409], { 409: 'Meters still reference the area' })
  async remove(@Param('id') id: string, @Scope() scope: AccessScope): Promise<ApiOk<AreaDto>> {
    return ok(toAreaDto(await this.areas.remove(id, scope)), 'Area deleted');
  }
}
