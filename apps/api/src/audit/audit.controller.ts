import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { ApiErrors, ApiPageEnvelope } from '../common';
import { AuditEntryDto, AuditPaginationDto, AuditQueryDto } from './audit.dto';
import { AuditRepository } from './audit.repository';

export interface AuditPage {
  success: true;
  data: AuditEntryDto[];
  pagination: { limit: number; nextBefore: number | null };
}

@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  @ApiOperation({
    summary:
      'The audit trail, newest first (roles: admin): filter by actor, target, action and time; page with ' +
      "`before` = the previous page's pagination.nextBefore (null on the last page)",
  })
  @ApiPageEnvelope(AuditEntryDto, AuditPaginationDto)
  @ApiErrors([400, 401, 403, 503], { 400: 'Invalid filter, date, cursor or limit' })
  async list(@Query() query: AuditQueryDto): Promise<AuditPage> {
    const from = query.from ? validDate(query.from, 'from') : undefined;
    const to = query.to ? validDate(query.to, 'to') : undefined;
    if (from && to && from > to) throw new BadRequestException('from must not be after to');
    const rows = await this.audit.list(
      { actor: query.actor, target: query.target, action: query.action, from, to, before: query.before },
      query.limit,
    );
    const nextBefore = rows.length === query.limit ? rows[rows.length - 1].id : null;
    return { success: true, data: rows, pagination: { limit: query.limit, nextBefore } };
  }
}

function validDate(text: string, name: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new BadRequestException(`${name} is not a valid date-time`);
  return date;
}
