import { PUSH_SIGNATURE_HEADER } from '@app/contracts';
import { Body, Controller, HttpCode, NotFoundException, Post } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope } from '../common';
import { AcceptedReadDto } from './push.dto';
import { AlarmDto, PushAlarmDto } from '../alarms/alarms.dto';

/**
 * The meters' routes as the OpenAPI document declares them (Nest documents controllers only). They are
 * served by the push listener (PUSH_PORT, PushHttpHandler) without Express; the operators' port answers
 * 404 to /push/* before routing (`pushPortGate`), so these handlers are never reached.
 * Outside the `api` prefix.
 */
@ApiTags('push (meters, on PUSH_PORT)')
@ApiHeader({
  name: PUSH_SIGNATURE_HEADER,
  description: 't=<unix seconds>,v1=<hex HMAC-SHA256(secret, t.body)>',
})
@ApiErrors([400, 401, 413, 429, 503], {
  401: 'No, malformed, expired, replayed or wrong X-Meter-Signature, or a meter without a push secret',
  429: 'Too many pushes from this meter: slow down',
})
@Public()
@Controller('push')
export class PushController {
  @Post('readings')
  @HttpCode(202)
  @ApiOperation({
    summary: 'A reading pushed by a meter: { meterNumber, timestamp } + its answer in either read format',
    description: 'Accepted (202) once queued for storage; stored like a polled read with readingType push.',
  })
  @ApiOkEnvelope(AcceptedReadDto, { status: 202, description: 'Queued for storage' })
  readings(): ApiOk<AcceptedReadDto> {
    throw new NotFoundException('POST /push/readings is served on PUSH_PORT');
  }

  @Post('alarms')
  @HttpCode(200)
  @ApiOperation({ summary: 'An alarm raised by a meter; data is null when the meter had already sent it' })
  @ApiOkEnvelope(AlarmDto, { nullable: true })
  alarms(@Body() _dto: PushAlarmDto): ApiOk<AlarmDto | null> {
    throw new NotFoundException('POST /push/alarms is served on PUSH_PORT');
  }
}
