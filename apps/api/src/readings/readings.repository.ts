import type { CommunicationStatus, ReadingType } from '@app/contracts';
import {
  PG_POOL,
  type MeterStatus,
  type ReadLayout,
  type StoredQualities,
  type StoredQuality,
  type StoredRawValue,
} from '@app/database';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';

export interface TimeRange {
  start: Date;
  end: Date;
}

export interface LatestReadingRow {
  meterStatus: MeterStatus;
  lastSeen: Date | null;
  lastPollAt: Date | null;
  lastError: string | null;
  readAt: Date | null;
  readingType: ReadingType | null;
  communicationStatus: CommunicationStatus | null;
  responseTimeMs: number | null;
  layout: ReadLayout | null;
  raw: StoredRawValue[] | null;
  qualities: StoredQualities | null;
}

export interface ReadRecordRow {
  id: string;
  readAt: Date;
  readingType: ReadingType;
  communicationStatus: CommunicationStatus;
  responseTimeMs: number;
  error: string | null;
  layout: ReadLayout | null;
  raw: StoredRawValue[] | null;
  qualities: StoredQualities | null;
}

export interface SeriesRow {
  readAt: Date;
  /** The stored value of the one code, with its layout's scaler and unit. */
  raw: StoredRawValue;
  scaler: number | null;
  unit: string | null;
  quality: StoredQuality;
}

export interface BucketRow {
  bucketStart: Date;
  avg: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

/** Bucket widths as PostgreSQL intervals (date_bin aligns them on the Unix epoch, i.e. UTC). */
export const BUCKET_INTERVALS = { '15m': '15 minutes', '1h': '1 hour', '1d': '1 day' } as const;

/** A read's layout as one json value (null when the read has no values). */
const LAYOUT_JSON = `case when l.id is null then null
  else json_build_object('codes', l.codes, 'scalers', l.scalers, 'units', l.units) end as layout`;

/**
 * The layouts that carry the code $4, with the code's 1-based position, scaler and unit: a few rows,
 * joined to the reads by layout_id.
 */
const LAYOUTS_WITH_CODE = `lay as (
  select id, pos, scalers[pos] as scaler, units[pos] as unit
    from (select id, scalers, units, array_position(codes, $4::text) as pos from read_layouts) x
   where pos is not null
)`;

/** Usable numeric values of the code only: a number, not flagged as an error. */
const USABLE_NUMBER = `json_typeof(r.raw -> (lay.pos - 1)) = 'number'
  and coalesce(r.qualities ->> (lay.pos - 1)::text, 'good') <> 'error'`;

/**
 * Read history queries. Every query is bounded by meter and time range, so it walks the
 * (meter_id, read_at desc) index and PostgreSQL prunes the daily partitions outside the range. Values
 * are stored per layout (see the readings codec): a code is found with array_position in the layout.
 */
@Injectable()
export class ReadingsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async latest(meterId: string): Promise<LatestReadingRow | undefined> {
    const { rows } = await this.pool.query<LatestReadingRow>(
      `select m.status as "meterStatus", m.last_seen as "lastSeen", m.last_poll_at as "lastPollAt",
              m.last_error as "lastError", c.read_at as "readAt", c.reading_type as "readingType",
              c.communication_status as "communicationStatus", c.response_time_ms as "responseTimeMs",
              ${LAYOUT_JSON}, c.raw, c.qualities
         from meters m
         left join meter_current_readings c on c.meter_id = m.id
         left join read_layouts l on l.id = c.layout_id
        where m.id = $1`,
      [meterId],
    );
    return rows[0];
  }

  async records(
    meterId: string,
    range: TimeRange,
    page: number,
    limit: number,
  ): Promise<{ rows: ReadRecordRow[]; total: number }> {
    const where = `meter_id = $1 and read_at >= $2 and read_at <= $3`;
    const params = [meterId, range.start, range.end];
    const [list, counted] = await Promise.all([
      this.pool.query<ReadRecordRow>(
        `select r.id, r.read_at as "readAt", r.reading_type as "readingType",
                r.communication_status as "communicationStatus", r.response_time_ms as "responseTimeMs",
                r.error, ${LAYOUT_JSON}, r.raw, r.qualities
           from meter_reads r
           left join read_layouts l on l.id = r.layout_id
          where ${where}
          order by r.read_at desc, r.id desc
          limit $4 offset $5`,
        [...params, limit, (page - 1) * limit],
      ),
      this.pool.query<{ total: number }>(
        `select count(*)::int as total from meter_reads where ${where}`,
        params,
      ),
    ]);
    return { rows: list.rows, total: counted.rows[0].total };
  }

  /** The reads that carry `obisCode`, oldest first (chart order). */
  async series(
    meterId: string,
    obisCode: string,
    range: TimeRange,
    page: number,
    limit: number,
  ): Promise<{ rows: SeriesRow[]; total: number }> {
    const where = `r.meter_id = $1 and r.read_at >= $2 and r.read_at <= $3`;
    const params = [meterId, range.start, range.end, obisCode];
    const [list, counted] = await Promise.all([
      this.pool.query<SeriesRow>(
        `with ${LAYOUTS_WITH_CODE}
         select r.read_at as "readAt", r.raw -> (lay.pos - 1) as raw, lay.scaler, lay.unit,
                coalesce(r.qualities ->> (lay.pos - 1)::text, 'good') as quality
           from meter_reads r
           join lay on lay.id = r.layout_id
          where ${where}
          order by r.read_at asc, r.id asc
          limit $5 offset $6`,
        [...params, limit, (page - 1) * limit],
      ),
      this.pool.query<{ total: number }>(
        `with ${LAYOUTS_WITH_CODE}
         select count(*)::int as total from meter_reads r join lay on lay.id = r.layout_id where ${where}`,
        params,
      ),
    ]);
    return { rows: list.rows, total: counted.rows[0].total };
  }

  /**
   * Aggregates the usable numeric values of `obisCode` per bucket, oldest first. Physical values are
   * computed in numeric (raw × 10^scaler) so 2301 × 10^-1 is exactly 230.1 before averaging.
   */
  async buckets(
    meterId: string,
    obisCode: string,
    range: TimeRange,
    bucket: keyof typeof BUCKET_INTERVALS,
    page: number,
    limit: number,
  ): Promise<{ rows: BucketRow[]; total: number }> {
    const { rows } = await this.pool.query<BucketRow & { total: number }>(
      `with ${LAYOUTS_WITH_CODE}, v as (
         select r.read_at, r.id,
                (r.raw ->> (lay.pos - 1))::numeric * power(10::numeric, coalesce(lay.scaler, 0)::int) as value
           from meter_reads r
           join lay on lay.id = r.layout_id
          where r.meter_id = $1 and r.read_at >= $2 and r.read_at <= $3 and ${USABLE_NUMBER}
       ), b as (
         select date_bin($5::interval, read_at, timestamptz '1970-01-01 00:00:00+00') as bucket_start,
                avg(value)::float8 as avg, min(value)::float8 as min, max(value)::float8 as max,
                (array_agg(value order by read_at desc, id desc))[1]::float8 as last, count(*)::int as count
           from v
          group by 1
       )
       select bucket_start as "bucketStart", avg, min, max, last, count, count(*) over ()::int as total
         from b
        order by bucket_start asc
        limit $6 offset $7`,
      [meterId, range.start, range.end, obisCode, BUCKET_INTERVALS[bucket], limit, (page - 1) * limit],
    );
    const total =
      rows[0]?.total ?? (page > 1 ? await this.countBuckets(meterId, obisCode, range, bucket) : 0);
    return { rows: rows.map(({ total: _total, ...row }) => row), total };
  }

  private async countBuckets(
    meterId: string,
    obisCode: string,
    range: TimeRange,
    bucket: keyof typeof BUCKET_INTERVALS,
  ): Promise<number> {
    const { rows } = await this.pool.query<{ total: number }>(
      `with ${LAYOUTS_WITH_CODE}
       select count(distinct date_bin($5::interval, r.read_at, timestamptz '1970-01-01 00:00:00+00'))::int as total
         from meter_reads r
         join lay on lay.id = r.layout_id
        where r.meter_id = $1 and r.read_at >= $2 and r.read_at <= $3 and ${USABLE_NUMBER}`,
      [meterId, range.start, range.end, obisCode, BUCKET_INTERVALS[bucket]],
    );
    return rows[0].total;
  }
}
