import { ApiEnv } from '@app/config';
import {
  HttpException,
  HttpStatus,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { describeValidationErrors, InputValidationException } from '../common';
import { PushAdmission } from './push-redis';
import { decodePushedReadings, pushTimestamp } from './push-readings';
import { sameSecret } from './push-signature';
import { PushTargets } from './push-targets';
import { PushService } from './push.service';
import { SEED_EVENT_ALARMS, SeedIngestionDto, seedPushBody, seedTimestamp } from './seed-ingestion';

export interface SeedIngestionResult {
  readings: number;
  alarms: number;
}

/**
 * The seed system's POST /api/meters/data-ingestion, so its simulator and field devices move over
 * unchanged: off unless METER_INGESTION_KEY is set, `authentication` compared with it in constant time,
 * named readings mapped to OBIS codes and stored like any push, events that are alarms here raised.
 */
@Injectable()
export class SeedIngestionService {
  private readonly key?: string;

  constructor(
    env: ApiEnv,
    private readonly targets: PushTargets,
    private readonly admission: PushAdmission,
    private readonly push: PushService,
  ) {
    this.key = env.METER_INGESTION_KEY;
  }

  async ingest(body: unknown): Promise<SeedIngestionResult> {
    if (!this.key) throw new NotFoundException('Cannot POST /api/meters/data-ingestion');
    const auth = (body as { authentication?: unknown } | null)?.authentication;
    if (typeof auth !== 'string' || !sameSecret(auth, this.key)) {
      throw new UnauthorizedException('authentication does not match METER_INGESTION_KEY');
    }
    const dto = plainToInstance(SeedIngestionDto, body);
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: false });
    if (errors.length > 0) throw new InputValidationException(describeValidationErrors(errors));
    dto.timestamp = seedTimestamp(dto.timestamp);

    const target = await this.targets.findMeter(dto.meterNumber);
    if (!target) throw new NotFoundException(`Meter "${dto.meterNumber}" not found`);
    // The meter's rate limit applies. No replay check: the same body again (a device retrying after an
    // error) must be able to complete; a read or alarm already stored is not stored twice anyway.
    if ((await this.admission.admit(target.id, null)) === 'rate-limited') {
      throw new HttpException('too many pushes from this meter, slow down', HttpStatus.TOO_MANY_REQUESTS);
    }

    const pushBody = seedPushBody(dto);
    const alarms = (dto.events ?? []).filter((e) => SEED_EVENT_ALARMS[e.type]);
    // Validate everything before storing anything: no half-applied push.
    const problems = alarms.flatMap((e) => {
      const when = pushTimestamp(seedTimestamp(e.timestamp ?? dto.timestamp));
      return 'problem' in when ? [`event ${e.type}: ${when.problem}`] : [];
    });
    const decoded = pushBody ? decodePushedReadings(pushBody) : null;
    if (decoded && !decoded.ok) problems.push(...decoded.problems);
    if (problems.length > 0) throw new InputValidationException(problems);
    const readings = pushBody ? 1 : 0;
    if (pushBody) await this.push.acceptReadings(target, pushBody);
    for (const event of alarms) {
      await this.push.acceptAlarm(
        target,
        SEED_EVENT_ALARMS[event.type],
        seedTimestamp(event.timestamp ?? dto.timestamp),
        {
          ...(event.code ? { code: event.code } : {}),
          ...(event.severity ? { severity: event.severity } : {}),
          ...(event.category ? { category: event.category } : {}),
          ...(event.description ? { description: event.description } : {}),
        },
      );
    }
    return { readings, alarms: alarms.length };
  }
}
