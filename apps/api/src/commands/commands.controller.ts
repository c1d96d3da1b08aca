import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AuditTarget } from '../audit/audit-target.decorator';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AccessScope, Scope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser, Roles } from '../auth/decorators';
import { ApiErrorDto, ok, paginated, type ApiOk, type ApiPage } from '../common/envelope';
import { ApiErrors, ApiOkEnvelope, ApiPageEnvelope } from '../common/openapi';
import { PageQueryDto } from '../common/pagination.dto';
import {
  CommandRecordDto,
  ReadObisDto,
  ReadObisResultDto,
  WriteObisDto,
  WriteObisResultDto,
} from './commands.dto';
import { CommandsService } from './commands.service';

/**
 * On-demand meter commands. Reading or writing a meter is an action on the device (it costs the meter
 * and the network), so it needs operator or admin; viewers see stored readings and the audit trail.
 * `:id` is the meter's id or its meter number.
 */
@ApiTags('meter commands')
@ApiBearerAuth()
@ApiErrors([401, 404, 503], { 404: 'No such meter (or deleted)' })
@Controller('meters/:id')
@AuditTarget('meter')
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  @Post('read-obis')
  @HttpCode(200)
  @Roles('operator', 'admin')
  @ApiOperation({ summary: 'Read the meter now (ahead of scheduled polls); stored as an on-demand read' })
  @ApiOkEnvelope(ReadObisResultDto)
  @ApiErrors([503], {
    503: 'PostgreSQL or Redis unavailable, no worker started the command in time, or the meter stayed busy',
  })
  @ApiBadRequestResponse({ type: ApiErrorDto, description: 'Malformed OBIS codes or more than 100' })
  @ApiForbiddenResponse({ type: ApiErrorDto, description: 'Viewer role' })
  @ApiConflictResponse({
    type: ApiErrorDto,
    description: 'Meter in a lifecycle state, without address or outside the allowed networks',
  })
  @ApiBadGatewayResponse({ type: ApiErrorDto, description: 'The meter answered with an error or garbage' })
  @ApiGatewayTimeoutResponse({
    type: ApiErrorDto,
    description: 'The meter did not answer (timeout, refused, reset)',
  })
  async readObis(
    @Param('id') id: string,
    @Body() body: ReadObisDto,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<ReadObisResultDto>> {
    return ok(await this.commands.readObis(id, body.obisCodes, user, scope));
  }

  @Post('write-obis')
  @HttpCode(200)
  @Roles('operator', 'admin')
  @ApiOperation({
    summary: 'Write one OBIS value on the meter; audited with who, old and new value and result',
  })
  @ApiOkEnvelope(WriteObisResultDto)
  @ApiErrors([503], {
    503: 'PostgreSQL or Redis unavailable, no worker started the command in time, or the meter stayed busy',
  })
  @ApiBadRequestResponse({
    type: ApiErrorDto,
    description: 'Read-only or unknown code, invalid value, or the meter said 400',
  })
  @ApiForbiddenResponse({ type: ApiErrorDto, description: 'Viewer role, or the meter said 403' })
  @ApiConflictResponse({
    type: ApiErrorDto,
    description: 'Meter in a lifecycle state, without address or outside the allowed networks',
  })
  @ApiBadGatewayResponse({
    type: ApiErrorDto,
    description: 'The meter refused without a 4xx reason, or answered garbage',
  })
  @ApiGatewayTimeoutResponse({ type: ApiErrorDto, description: 'The meter did not answer' })
  async writeObis(
    @Param('id') id: string,
    @Body() body: WriteObisDto,
    @CurrentUser() user: AuthUser,
    @Scope() scope: AccessScope,
  ): Promise<ApiOk<WriteObisResultDto>> {
    return ok(
      await this.commands.writeObis(id, body.obisCode, body.value, user, scope),
      'Value written to the meter',
    );
  }

  @Get('commands')
  @ApiOperation({ summary: 'Command audit trail of the meter, newest first' })
  @ApiPageEnvelope(CommandRecordDto)
  @ApiErrors([400])
  async list(
    @Param('id') id: string,
    @Query() query: PageQueryDto,
    @Scope() scope: AccessScope,
  ): Promise<ApiPage<CommandRecordDto>> {
    const { rows, total } = await this.commands.listCommands(id, query.page, query.limit, scope);
    return paginated(rows, total, query.page, query.limit);
  }
}
