import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiOk, ok } from '../common/envelope';
import { PollingStatus, PollingStatusService } from './polling-status.service';

/** Registered before MetersModule's controller so `GET /api/meters/:id` does not capture `polling`. */
@ApiTags('polling')
@ApiBearerAuth()
@Controller('meters/polling')
export class PollingController {
  constructor(private readonly status: PollingStatusService) {}

  @Get('status')
  @ApiOperation({
    summary: 'State of scheduled polling across all workers (any authenticated role)',
  })
  async getStatus(): Promise<ApiOk<PollingStatus>> {
    return ok(await this.status.getStatus());
  }
}
