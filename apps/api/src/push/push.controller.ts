import { PUSH_SIGNATURE_HEADER } from '@app/contracts';
import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/decorators';
import { ApiErrors, ApiOk, ApiOkEnvelope, ok } from '../common';
import { AcceptedReadDto } from './push.dto';
import { AlarmDto, PushAlarmDto } from '../alarms/alarms.dto';
import { PushSignatureGuard, SignedPushRequest } from './push-signature.guard';
import { AcceptedRead, PushService } from './push.service';

/**
 * The meters' side, served only on the push listener (PUSH_PORT): signed per meter, no user token.
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
@UseGuards(PushSignatureGuard)
@Controller('push')
export class PushController {
  constructor(private readonly push: PushService) {}

  @Post('readings')
  @HttpCode(202)
  @ApiOperation({
    summary: 'A reading pushed by a meter: { meterNumber, timestamp } + its answer in either read format',
    description: 'Accepted (202) once queued for storage; stored like a polled read with readingType push.',
  })
  @ApiOkEnvelope(AcceptedReadDto, { status: 202, description: 'Queued for storage' })
  async readings(@Req() req: SignedPushRequest): Promise<ApiOk<AcceptedRead>> {
    return ok(await this.push.acceptReadings(req.pushTarget!, req.body), 'reading accepted');
  }

  @Post('alarms')
  @HttpCode(200)
  @ApiOperation({ summary: 'An alarm raised by a meter; data is null when the meter had already sent it' })
  @ApiOkEnvelope(AlarmDto, { nullable: true })
  async alarms(@Req() req: SignedPushRequest, @Body() dto: PushAlarmDto): Promise<ApiOk<AlarmDto | null>> {
    const alarm = await this.push.acceptAlarm(req.pushTarget!, dto.alarm, dto.timestamp, dto.details);
    return ok(alarm, alarm ? 'alarm recorded' : 'alarm already recorded');
  }
}
