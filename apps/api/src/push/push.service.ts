import type { AccessScope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { MeterAlarmKind, PushedRead } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { AlarmRow } from '../alarms/alarms.repository';
import { AlarmsService } from '../alarms/alarms.service';
import { InputValidationException } from '../common';
import { MetersService } from '../meters/meters.service';
import { decodePushedReadings, pushTimestamp } from './push-readings';
import { PushReadQueue } from './push-read-queue';
import { PushSecretCipher } from './push-secret.cipher';
import type { PushTarget } from './push.repository';
import { PushRepository } from './push.repository';
import { PushTargets } from './push-targets';

export interface AcceptedRead {
  meterId: string;
  readAt: string;
  communicationStatus: PushedRead['communicationStatus'];
  values: number;
}

export interface IssuedPushSecret {
  meterId: string;
  meterNumber: string;
  /** Shown once: only its encrypted form is stored. */
  secret: string;
  header: string;
}

/** What meters push (readings, alarms) once authenticated, and the operators' side: their secrets. */
@Injectable()
export class PushService {
  constructor(
    private readonly queue: PushReadQueue,
    private readonly alarms: AlarmsService,
    private readonly repository: PushRepository,
    private readonly cipher: PushSecretCipher,
    private readonly meters: MetersService,
    private readonly targets: PushTargets,
  ) {}

  /** Decodes a pushed read and hands it to the workers; resolves once it is safely queued. */
  async acceptReadings(target: PushTarget, body: unknown): Promise<AcceptedRead> {
    const decoded = decodePushedReadings(body);
    if (!decoded.ok) throw new InputValidationException(decoded.problems);
    await this.queue.add({
      meterId: target.id,
      meterNumber: target.meterNumber,
      areaId: target.areaId,
      readAt: decoded.readAt.toISOString(),
      communicationStatus: decoded.communicationStatus,
      readings: decoded.readings,
      ...(decoded.error ? { error: decoded.error } : {}),
    });
    return {
      meterId: target.id,
      readAt: decoded.readAt.toISOString(),
      communicationStatus: decoded.communicationStatus,
      values: decoded.readings.length,
    };
  }

  /** Records an alarm (null: the meter had already sent it). */
  acceptAlarm(
    target: PushTarget,
    alarm: MeterAlarmKind,
    timestamp: string,
    details: Record<string, unknown> | undefined,
  ): Promise<AlarmRow | null> {
    const when = pushTimestamp(timestamp);
    if ('problem' in when) throw new InputValidationException([when.problem]);
    return this.alarms.raise({ meterId: target.id, alarm, raisedAt: when.at, details: details ?? null });
  }

  /** Creates or rotates a meter's push secret; the previous one stops working (docs/push.md, rotation). */
  async issueSecret(idOrNumber: string, user: AuthUser, scope: AccessScope): Promise<IssuedPushSecret> {
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);
    // rotated_by names a user; a key's rotation is in the audit trail.
    const userId = user.kind === 'user' ? user.id : null;
    const secret = PushSecretCipher.generate();
    await this.repository.saveSecret(meter.id, this.cipher.encrypt(secret), userId);
    // The previous secret stops working on this api instance at once (other instances: PushTargets).
    this.targets.forget(meter.meterNumber);
    return {
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      secret,
      header: 'X-Meter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>',
    };
  }
}
