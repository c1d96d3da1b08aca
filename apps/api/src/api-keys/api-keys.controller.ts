import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import {
  ApiErrors,
  ApiOk,
  ApiOkEnvelope,
  ApiPage,
  ApiPageEnvelope,
  ok,
  paginated,
  PageQueryDto,
  ParseIdPipe,
} from '../common';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('api keys')
@ApiBearerAuth()
@Roles('admin')
@Controller('api-keys')
@AuditTarget('api-key')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Create an integration key with a role, optional areas and expiry (roles: admin). The key is in this ' +
      'answer only; send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.',
  })
  @ApiOkEnvelope(CreatedApiKeyDto, { status: 201, description: 'Created: the key is shown this once' })
  @ApiErrors([400, 401, 403, 503], {
    400: 'Invalid name, role, areas (unknown, or given to an admin) or expiry',
  })
  async create(
    @Body() dto: CreateApiKeyDto,
    @CurrentUser() creator: AuthUser,
  ): Promise<ApiOk<CreatedApiKeyDto>> {
    return ok(await this.keys.create(dto, creator), 'API key created: store it now, it is not shown again');
  }

  @Get()
  @ApiOperation({ summary: 'List API keys with their last use, newest first (roles: admin)' })
  @ApiPageEnvelope(ApiKeyDto)
  @ApiErrors([400, 401, 403, 503])
  async list(@Query() query: PageQueryDto): Promise<ApiPage<ApiKeyDto>> {
    const { rows, total } = await this.keys.list(query.page, query.limit);
    return paginated(rows, total, query.page, query.limit);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke an API key at once (roles: admin); it stays listed as revoked' })
  @ApiOkEnvelope(ApiKeyDto, { description: 'Revoked: the key as it is now' })
  @ApiErrors([400, 401, 403, 404, 503])
  async revoke(@Param('id', ParseIdPipe) id: string): Promise<ApiOk<ApiKeyDto>> {
    return ok(await this.keys.revoke(id), 'API key revoked');
  }
}
