import { ALARM_SEVERITY, MeterAlarmEvent, MeterAlarmKind } from '@app/contracts';
import { MeterEventsPublisher } from '@app/realtime-publisher';
import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { AccessScope } from '../auth/access-scope';
import type { AuthUser } from '../auth/auth-user';
import { AlarmFilter, AlarmRow, AlarmsRepository } from './alarms.repository';

/** Bound of an alarm's `details` (JSON), so a meter cannot store megabytes per alarm. */
export const ALARM_DETAILS_MAX_BYTES = 4096;

export interface IncomingAlarm {
  meterId: string;
  alarm: MeterAlarmKind;
  raisedAt: Date;
  details: Record<string, unknown> | null;
}

/**
 * Alarms: recorded with their effect on the meter (power-failure: offline at once; power-restored: back
 * online and the failure cleared) in one transaction, then published after the commit: `meter-alarm` for
 * each alarm raised, cleared or acknowledged, `meter-status-change` once per real transition.
 */
@Injectable()
export class AlarmsService {
  constructor(
    private readonly repository: AlarmsRepository,
    private readonly events: MeterEventsPublisher,
  ) {}

  /** Returns the recorded alarm, or null when the meter had already sent it (nothing changes again). */
  async raise(input: IncomingAlarm): Promise<AlarmRow | null> {
    if (input.details && Buffer.byteLength(JSON.stringify(input.details)) > ALARM_DETAILS_MAX_BYTES) {
      throw new BadRequestException(`details must be at most ${ALARM_DETAILS_MAX_BYTES} bytes of JSON`);
    }
    const effect = input.alarm === 'power-failure' || input.alarm === 'power-restored' ? input.alarm : null;
    const result = await this.repository.raise({
      meterId: input.meterId,
      alarm: input.alarm,
      severity: ALARM_SEVERITY[input.alarm],
      raisedAt: input.raisedAt,
      details: input.details,
      effect,
    });
    if (!result.alarm) return null;
    const { alarm, statusChange } = result;
    if (statusChange) {
      this.events.statusChanged(
        {
          meterId: alarm.meterId,
          meterNumber: alarm.meterNumber,
          status: statusChange.status,
          previousStatus: statusChange.previousStatus,
          reason: statusChange.reason,
          lastSeen: statusChange.lastSeen ? statusChange.lastSeen.toISOString() : null,
          timestamp: statusChange.changedAt.toISOString(),
        },
        alarm.areaId,
      );
    }
    for (const cleared of result.cleared) this.publish(cleared);
    this.publish(alarm);
    return alarm;
  }

  list(filter: AlarmFilter, page: number, limit: number): Promise<{ rows: AlarmRow[]; total: number }> {
    return this.repository.list(filter, page, limit);
  }

  /** Only alarms of meters in the caller's scope; any other id answers 404. */
  async acknowledge(id: string, user: AuthUser, scope: AccessScope): Promise<AlarmRow> {
    if (!(await this.repository.findInAreas(id, scope.areaIds))) {
      throw new NotFoundException(`Alarm "${id}" not found`);
    }
    const acknowledged = await this.repository.acknowledge(id, {
      userId: user.kind === 'user' ? user.id : null,
      keyId: user.kind === 'api-key' ? user.id : null,
    });
    if (acknowledged) {
      this.publish(acknowledged);
      return acknowledged;
    }
    const existing = await this.repository.findById(id);
    if (!existing) throw new NotFoundException(`Alarm "${id}" not found`);
    throw new ConflictException(`Alarm "${id}" is ${existing.state}, only open alarms can be acknowledged`);
  }

  private publish(alarm: AlarmRow): void {
    const event: MeterAlarmEvent = {
      alarmId: alarm.id,
      meterId: alarm.meterId,
      meterNumber: alarm.meterNumber,
      areaId: alarm.areaId,
      alarm: alarm.alarm,
      severity: alarm.severity,
      state: alarm.state,
      raisedAt: alarm.raisedAt.toISOString(),
      details: alarm.details,
      acknowledgedBy: alarm.acknowledgedBy,
      timestamp: new Date().toISOString(),
    };
    this.events.alarmChanged(event);
  }
}
