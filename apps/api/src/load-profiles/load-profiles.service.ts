import type { AccessScope } from '../auth/access-scope';
import { ApiEnv } from '@app/config';
import { LOAD_PROFILE_1, LOAD_PROFILES, profileStatusFlags } from '@app/contracts';
import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { MetersService } from '../meters/meters.service';
import {
  ClockDriftQueryDto,
  ClockDriftReportDto,
  COMPLETENESS_DEFAULT_RANGE_DAYS,
  COMPLETENESS_MAX_RANGE_DAYS,
  CompletenessDto,
  CompletenessQueryDto,
  FleetCompletenessDto,
  FleetCompletenessQueryDto,
  LoadProfileDto,
  LoadProfileEntryDto,
  PROFILE_DEFAULT_RANGE_MS,
  PROFILE_MAX_ENTRIES,
  PROFILE_MAX_RANGE_DAYS,
  ProfileRangeQueryDto,
} from './load-profiles.dto';
import { LoadProfilesRepository, ProfileLayoutRow } from './load-profiles.repository';

const DAY_MS = 86_400_000;

/** Capture instants k·period with start ≤ k·period < end. */
export function expectedCaptures(startMs: number, endMs: number, periodSec: number): number {
  const p = periodSec * 1000;
  return Math.max(0, Math.ceil(endMs / p) - Math.ceil(startMs / p));
}

/** [from, to) from the query: both ISO 8601, from < to, at most `maxDays` apart; defaults to − `defaultMs`. */
export function queryRange(
  q: ProfileRangeQueryDto,
  now: Date,
  defaultMs: number,
  maxDays: number,
): { start: Date; end: Date } {
  const end = q.to ? new Date(q.to) : now;
  const start = q.from ? new Date(q.from) : new Date(end.getTime() - defaultMs);
  if (start.getTime() >= end.getTime()) throw new BadRequestException('from must be before to');
  if (end.getTime() - start.getTime() > maxDays * DAY_MS) {
    throw new BadRequestException(`the range must not exceed ${maxDays} days`);
  }
  return { start, end };
}

function physical(raw: string | null, scaler: number): number | null {
  if (raw === null) return null;
  const value = Number(raw);
  // Division by a power of ten keeps decimals exact (12345 / 1000 = 12.345).
  return scaler < 0 ? value / 10 ** -scaler : value * 10 ** scaler;
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A meter's load profile (values in physical units, status flags), its completeness, and fleet reports. */
@Injectable()
export class LoadProfilesService {
  private readonly profile = LOAD_PROFILES[LOAD_PROFILE_1];
  private readonly maxDriftMs: number;

  constructor(
    private readonly repository: LoadProfilesRepository,
    private readonly meters: MetersService,
    env: ApiEnv,
  ) {
    this.maxDriftMs = env.CLOCK_DRIFT_MAX_S * 1000;
  }

  async loadProfile(
    idOrNumber: string,
    q: ProfileRangeQueryDto,
    scope: AccessScope,
    now = new Date(),
  ): Promise<LoadProfileDto> {
    const { start, end } = queryRange(q, now, PROFILE_DEFAULT_RANGE_MS, PROFILE_MAX_RANGE_DAYS);
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);
    const rows = await this.repository.entries(meter.id, this.profile, start, end, PROFILE_MAX_ENTRIES + 1);
    const truncated = rows.length > PROFILE_MAX_ENTRIES;
    if (truncated) rows.pop();
    const layouts = new Map<number, ProfileLayoutRow>(
      (await this.repository.layouts([...new Set(rows.map((r) => r.layoutId))])).map((l) => [l.id, l]),
    );
    const last = rows.length ? layouts.get(rows[rows.length - 1].layoutId) : undefined;
    const entries = rows.map((r): LoadProfileEntryDto => {
      const layout = layouts.get(r.layoutId)!;
      const values: LoadProfileEntryDto['values'] = {};
      layout.codes.forEach((code, i) => {
        values[code] = { value: physical(r.raw[i] ?? null, layout.scalers[i]), unit: layout.units[i] };
      });
      return {
        timestamp: r.capturedAt.toISOString(),
        values,
        status: r.status,
        flags: profileStatusFlags(r.status),
      };
    });
    return {
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      profile: LOAD_PROFILE_1,
      from: start.toISOString(),
      to: end.toISOString(),
      capturePeriodSec: last?.capturePeriodS ?? null,
      captureObjects: last
        ? last.codes.map((c, i) => ({ obisCode: c, unit: last.units[i], scaler: last.scalers[i] }))
        : [],
      entries,
      truncated,
    };
  }

  /** The same as CSV: timestamp, one column per code (unit in the header), status, flags. */
  toCsv(profile: LoadProfileDto): string {
    const columns: { code: string; unit: string }[] = [];
    for (const e of profile.entries) {
      for (const [code, v] of Object.entries(e.values)) {
        if (!columns.some((c) => c.code === code)) columns.push({ code, unit: v.unit });
      }
    }
    const header = ['timestamp', ...columns.map((c) => `${c.code} [${c.unit}]`), 'status', 'flags'];
    const lines = [header.map(csvCell).join(',')];
    for (const e of profile.entries) {
      lines.push(
        [
          e.timestamp,
          ...columns.map((c) => String(e.values[c.code]?.value ?? '')),
          String(e.status),
          e.flags.join(' '),
        ]
          .map(csvCell)
          .join(','),
      );
    }
    return lines.join('\n') + '\n';
  }

  async completeness(
    idOrNumber: string,
    q: CompletenessQueryDto,
    scope: AccessScope,
    now = new Date(),
  ): Promise<CompletenessDto> {
    const { start, end } = queryRange(
      q,
      now,
      COMPLETENESS_DEFAULT_RANGE_DAYS * DAY_MS,
      COMPLETENESS_MAX_RANGE_DAYS,
    );
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);
    const period = await this.repository.capturePeriod(meter.id, this.profile);
    // Nothing is expected from the future.
    const until = new Date(Math.min(end.getTime(), now.getTime()));
    const counts = await this.repository.countsPerDay(meter.id, this.profile, start, until);
    const days: CompletenessDto['days'] = [];
    for (let day = Math.floor(start.getTime() / DAY_MS) * DAY_MS; day < until.getTime(); day += DAY_MS) {
      const date = new Date(day).toISOString().slice(0, 10);
      const expected = expectedCaptures(
        Math.max(day, start.getTime()),
        Math.min(day + DAY_MS, until.getTime()),
        period,
      );
      const collected = counts.get(date) ?? 0;
      days.push({ date, expected, collected, missing: Math.max(0, expected - collected) });
    }
    const sum = (k: 'expected' | 'collected' | 'missing') => days.reduce((n, d) => n + d[k], 0);
    return {
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      from: start.toISOString(),
      to: end.toISOString(),
      capturePeriodSec: period,
      expected: sum('expected'),
      collected: sum('collected'),
      missing: sum('missing'),
      days,
    };
  }

  async fleetCompleteness(
    q: FleetCompletenessQueryDto,
    scope: AccessScope,
    now = new Date(),
  ): Promise<FleetCompletenessDto> {
    const date = q.date ?? now.toISOString().slice(0, 10);
    const dayStart = Date.parse(`${date}T00:00:00Z`);
    if (Number.isNaN(dayStart) || new Date(dayStart).toISOString().slice(0, 10) !== date) {
      throw new BadRequestException(`date ${date} is not a day`);
    }
    if (dayStart > now.getTime()) throw new BadRequestException('date must not be in the future');
    const areaId = await this.area(q.area, scope);
    const end = Math.min(dayStart + DAY_MS, now.getTime());
    const row = await this.repository.fleetCompleteness(
      this.profile,
      new Date(dayStart),
      new Date(end),
      areaId,
      scope.areaIds,
    );
    const expected = Number(row.intervalsExpected);
    const collected = Number(row.intervalsCollected);
    return {
      date,
      areaId,
      meters: row.meters,
      metersComplete: row.metersComplete,
      metersWithGaps: row.meters - row.metersComplete,
      intervalsExpected: expected,
      intervalsCollected: collected,
      shareCollected: expected === 0 ? 1 : collected / expected,
      worst: row.worst ?? [],
    };
  }

  async clockDrift(q: ClockDriftQueryDto, scope: AccessScope): Promise<ClockDriftReportDto> {
    const areaId = await this.area(q.area, scope);
    const rows = await this.repository.clockDrift(this.maxDriftMs, areaId, scope.areaIds, q.limit);
    return {
      maxDriftSeconds: this.maxDriftMs / 1000,
      checked: rows[0]?.checked ?? 0,
      flagged: rows[0]?.flagged ?? 0,
      meters: rows.map((r) => ({
        meterId: r.meterId,
        meterNumber: r.meterNumber,
        driftSeconds: r.driftMs / 1000,
        checkedAt: r.checkedAt.toISOString(),
        flagged: Math.abs(r.driftMs) > this.maxDriftMs,
        syncRequestedAt: r.syncRequestedAt?.toISOString() ?? null,
      })),
    };
  }

  /** The area named by the query; one outside the caller's scope is as unknown as a missing one. */
  private async area(ref: string | undefined, scope: AccessScope): Promise<string | null> {
    if (ref === undefined) return null;
    const id = await this.repository.areaId(ref);
    if (id === null || (scope.areaIds && !scope.areaIds.includes(id))) {
      throw new NotFoundException(`Area "${ref}" not found`);
    }
    return id;
  }
}
