import { decodeReadValue, decodeReadValues } from '@app/database';
import { canonicalObisCode, findObisDefinition } from '@app/obis';
import { BadRequestException, Injectable } from '@nestjs/common';
import type { AccessScope } from '../auth/access-scope';
import { MetersService } from '../meters/meters.service';
import {
  DEFAULT_RECORDS_LIMIT,
  HISTORY_DEFAULT_RANGE_MS,
  HISTORY_MAX_RANGE_DAYS,
  MAX_RECORDS_LIMIT,
  MAX_SERIES_LIMIT,
  type BucketPointDto,
  type HistoryQueryDto,
  type LatestReadingDto,
  type ReadRecordDto,
  type SeriesPointDto,
} from './readings.dto';
import { ReadingsRepository, type ReadRecordRow, type TimeRange } from './readings.repository';

export type HistoryPage =
  | { kind: 'records'; data: ReadRecordDto[]; total: number; page: number; limit: number }
  | { kind: 'series'; data: SeriesPointDto[]; total: number; page: number; limit: number }
  | { kind: 'buckets'; data: BucketPointDto[]; total: number; page: number; limit: number };

const nameOf = (code: string): string | null => findObisDefinition(code)?.name ?? null;

function decode(row: Pick<ReadRecordRow, 'layout' | 'raw' | 'qualities'> | undefined) {
  return row ? decodeReadValues(row.layout, row.raw, row.qualities, nameOf) : [];
}

/** Stored readings of one meter: the latest values and the bounded, paginated history. */
@Injectable()
export class ReadingsService {
  constructor(
    private readonly repository: ReadingsRepository,
    private readonly meters: MetersService,
  ) {}

  async latest(idOrNumber: string, scope: AccessScope): Promise<LatestReadingDto> {
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);
    const row = await this.repository.latest(meter.id);
    return {
      meterId: meter.id,
      meterNumber: meter.meterNumber,
      meterStatus: row?.meterStatus ?? meter.status,
      readAt: row?.readAt?.toISOString() ?? null,
      readingType: row?.readingType ?? null,
      communicationStatus: row?.communicationStatus ?? null,
      responseTime: row?.responseTimeMs ?? null,
      readings: decode(row),
      lastSeen: row?.lastSeen?.toISOString() ?? null,
      lastPollAt: row?.lastPollAt?.toISOString() ?? null,
      lastError: row?.lastError ?? null,
    };
  }

  async history(
    idOrNumber: string,
    query: HistoryQueryDto,
    scope: AccessScope,
    now = new Date(),
  ): Promise<HistoryPage> {
    const range = historyRange(query.startDate, query.endDate, now);
    const code = query.obisCode === undefined ? undefined : canonicalObisCode(query.obisCode);
    if (code === null) throw new BadRequestException(`obisCode ${query.obisCode} is not an OBIS code`);
    if (query.bucket && !code) throw new BadRequestException('bucket needs an obisCode to aggregate');
    const page = query.page;
    const meter = await this.meters.getByIdOrNumber(idOrNumber, scope);

    if (!code) {
      const limit = query.limit ?? DEFAULT_RECORDS_LIMIT;
      if (limit > MAX_RECORDS_LIMIT) {
        throw new BadRequestException(`limit must not be greater than ${MAX_RECORDS_LIMIT} for read records`);
      }
      const { rows, total } = await this.repository.records(meter.id, range, page, limit);
      const data = rows.map((r): ReadRecordDto => ({
        id: Number(r.id),
        readAt: r.readAt.toISOString(),
        readingType: r.readingType,
        communicationStatus: r.communicationStatus,
        responseTime: r.responseTimeMs,
        error: r.error,
        readings: decode(r),
      }));
      return { kind: 'records', data, total, page, limit };
    }

    const limit = query.limit ?? MAX_SERIES_LIMIT;
    const definition = findObisDefinition(code);
    if (query.bucket) {
      if (definition && definition.valueType !== 'number') {
        throw new BadRequestException(`${code} (${definition.name}) is not numeric and cannot be aggregated`);
      }
      const { rows, total } = await this.repository.buckets(meter.id, code, range, query.bucket, page, limit);
      const data = rows.map((b): BucketPointDto => ({
        timestamp: b.bucketStart.toISOString(),
        avg: b.avg,
        min: b.min,
        max: b.max,
        last: b.last,
        count: b.count,
      }));
      return { kind: 'buckets', data, total, page, limit };
    }

    const { rows, total } = await this.repository.series(meter.id, code, range, page, limit);
    const data = rows.map((r): SeriesPointDto => {
      const point = decodeReadValue(code, r.raw, r.scaler, r.unit, r.quality, nameOf);
      return {
        timestamp: r.readAt.toISOString(),
        value: point.value,
        unit: point.unit ?? definition?.unit ?? null,
        quality: point.quality,
      };
    });
    return { kind: 'series', data, total, page, limit };
  }
}

/** Default: the 24 h before endDate (default now); start ≤ end; at most HISTORY_MAX_RANGE_DAYS. */
export function historyRange(
  startDate: string | undefined,
  endDate: string | undefined,
  now: Date,
): TimeRange {
  const end = endDate === undefined ? now : parseDate(endDate, 'endDate');
  const start =
    startDate === undefined
      ? new Date(end.getTime() - HISTORY_DEFAULT_RANGE_MS)
      : parseDate(startDate, 'startDate');
  if (start.getTime() > end.getTime()) throw new BadRequestException('startDate must not be after endDate');
  if (end.getTime() - start.getTime() > HISTORY_MAX_RANGE_DAYS * 24 * 3600_000) {
    throw new BadRequestException(`The range must not exceed ${HISTORY_MAX_RANGE_DAYS} days`);
  }
  return { start, end };
}

function parseDate(text: string, field: string): Date {
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new BadRequestException(`${field} is not a valid date`);
  return new Date(time);
}
