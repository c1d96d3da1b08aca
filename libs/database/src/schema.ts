/**
 * Drizzle table definitions. They mirror the committed SQL in ../migrations, which is what creates the
 * tables: change both together (a new numbered migration, never an edited one).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  json,
  jsonb,
  pgEnum,
  smallint,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const USER_ROLES = ['admin', 'operator', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const METER_TYPES = ['single-phase', 'three-phase', 'prepaid', 'postpaid'] as const;
export type MeterType = (typeof METER_TYPES)[number];

/** online/offline are driven by polling; active/warehouse/faulty are lifecycle states set by operators. */
export const METER_STATUSES = ['online', 'offline', 'active', 'warehouse', 'faulty'] as const;
export type MeterStatus = (typeof METER_STATUSES)[number];

export const userRole = pgEnum('user_role', USER_ROLES);
export const meterType = pgEnum('meter_type', METER_TYPES);
export const meterStatus = pgEnum('meter_status', METER_STATUSES);

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
};

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: userRole('role').notNull(),
  isActive: boolean('is_active').notNull().default(true),
  lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  /** The areas this user may see and act on; empty means fleet-wide. */
  areaIds: uuid('area_ids')
    .array()
    .notNull()
    .default(sql`'{}'::uuid[]`),
  /** In every access token: raising it ends every token issued before (migration 0006). */
  tokenVersion: integer('token_version').notNull().default(0),
  ...timestamps,
});

/** Integration keys: only the sha-256 of the secret is stored. */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** The secret's first characters, to recognise a key in lists (not enough to use it). */
  prefix: text('prefix').notNull(),
  keyHash: text('key_hash').notNull().unique(),
  role: userRole('role').notNull(),
  areaIds: uuid('area_ids')
    .array()
    .notNull()
    .default(sql`'{}'::uuid[]`),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** Append-only (a trigger refuses UPDATE and DELETE outside retention): who changed what, and when. */
export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  actorType: text('actor_type').$type<'user' | 'api-key' | 'anonymous'>().notNull(),
  actorId: uuid('actor_id'),
  actorName: text('actor_name').notNull(),
  action: text('action').notNull(),
  targetType: text('target_type'),
  targetId: text('target_id'),
  outcome: text('outcome').$type<'success' | 'refused' | 'failed'>().notNull(),
  statusCode: smallint('status_code').notNull(),
  changes: jsonb('changes').$type<Record<string, unknown>>(),
  requestId: text('request_id'),
  sourceAddress: text('source_address'),
});

export const areas = pgTable('areas', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  code: text('code').notNull().unique(),
  description: text('description'),
  ...timestamps,
});

export const meters = pgTable(
  'meters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    meterNumber: text('meter_number').notNull(),
    meterType: meterType('meter_type').notNull(),
    brand: text('brand').notNull(),
    model: text('model').notNull(),
    areaId: uuid('area_id')
      .notNull()
      .references(() => areas.id, { onDelete: 'restrict' }),
    ipAddress: text('ip_address'),
    port: integer('port'),
    status: meterStatus('status').notNull().default('online'),
    firmware: text('firmware'),
    /** Canonical OBIS codes to poll; null means the default set. */
    obisCodes: text('obis_codes').array(),
    lastSeen: timestamp('last_seen', { withTimezone: true }),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /** Stable 0..9999 position used to spread polls over the interval (slot = bucket range). */
    pollBucket: integer('poll_bucket')
      .notNull()
      .default(sql`floor(random() * 10000)::int`),
    /** Set while a meter is offline: exponential backoff, polls before this time are skipped. */
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }),
    lastPollAt: timestamp('last_poll_at', { withTimezone: true }),
    lastError: text('last_error'),
    /** The meter's clock minus the read's time (ms), from its last scheduled read with a clock (migration 0008). */
    clockDriftMs: integer('clock_drift_ms'),
    clockCheckedAt: timestamp('clock_checked_at', { withTimezone: true }),
    /** Last automatic clock sync requested (CLOCK_SYNC=auto rate limit). */
    clockSyncRequestedAt: timestamp('clock_sync_requested_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('meters_meter_number_live_key')
      .on(t.meterNumber)
      .where(sql`${t.deletedAt} is null`),
    index('meters_area_id_idx').on(t.areaId),
    index('meters_status_idx')
      .on(t.status)
      .where(sql`${t.deletedAt} is null`),
    // The meter list at fleet scale (0007): trigram indexes for search, (filter, meter_number) for pages.
    ...(['meterNumber', 'brand', 'model'] as const).map((column) =>
      index(`meters_${t[column].name}_trgm_idx`)
        .using('gin', t[column].op('gin_trgm_ops'))
        .where(sql`${t.deletedAt} is null`),
    ),
    index('meters_live_brand_number_idx')
      .on(sql`lower(${t.brand})`, t.meterNumber)
      .where(sql`${t.deletedAt} is null`),
    index('meters_live_status_number_idx')
      .on(t.status, t.meterNumber)
      .where(sql`${t.deletedAt} is null`),
    index('meters_live_area_number_idx')
      .on(t.areaId, t.meterNumber)
      .where(sql`${t.deletedAt} is null`),
    index('meters_live_number_id_idx')
      .on(t.meterNumber, t.id)
      .where(sql`${t.deletedAt} is null`),
  ],
);

export const READING_TYPES = ['scheduled', 'on-demand', 'push'] as const;
export const COMMUNICATION_STATUSES = ['success', 'partial', 'failed'] as const;
export const COMMAND_TYPES = ['read', 'write'] as const;
export const COMMAND_STATUSES = ['pending', 'success', 'failed', 'rejected'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const readingType = pgEnum('reading_type', READING_TYPES);
export const communicationStatus = pgEnum('communication_status', COMMUNICATION_STATUSES);
export const commandType = pgEnum('command_type', COMMAND_TYPES);
export const commandStatus = pgEnum('command_status', COMMAND_STATUSES);

/** A value as the meter sent it, before scaling: a number, a text (clock, serial number) or null. */
export type StoredRawValue = number | string | null;
export type StoredQuality = 'good' | 'questionable' | 'error';
/** The qualities of a read that are not 'good', keyed by the value's index in the layout. */
export type StoredQualities = Record<string, StoredQuality>;

/**
 * The shape of a meter's answer: its codes (canonical OBIS, in answer order), and per code the scaler
 * and unit. A meter answers with the same layout poll after poll, so each layout is stored once and a
 * read keeps only its raw values aligned with `codes`. Rows are never deleted (reads refer to them).
 */
export const readLayouts = pgTable('read_layouts', {
  id: serial('id').primaryKey(),
  /** readLayoutFingerprint(): sha-256 of the layout, unique. */
  fingerprint: text('fingerprint').notNull().unique(),
  codes: text('codes').array().notNull(),
  scalers: smallint('scalers').array().$type<(number | null)[]>().notNull(),
  units: text('units').array().$type<(string | null)[]>().notNull(),
});

/**
 * A read's values in compact form (see the readings codec): `layout_id` (null when there are no values,
 * e.g. a failed read), `raw` aligned with the layout's codes, `qualities` null when all are 'good'.
 * The physical value is derived (raw × 10^scaler) and the name comes from the catalog.
 */
const storedValues = {
  layoutId: integer('layout_id'),
  raw: json('raw').$type<StoredRawValue[]>(),
  qualities: json('qualities').$type<StoredQualities>(),
};

/**
 * Partitioned by day on read_at (UTC, `meter_reads_pYYYYMMDD`, created ahead by partition maintenance). No
 * default partition (migration 0004): it would forbid detaching expired days concurrently.
 */
export const meterReads = pgTable('meter_reads', {
  id: bigserial('id', { mode: 'number' }).notNull(),
  meterId: uuid('meter_id').notNull(),
  readAt: timestamp('read_at', { withTimezone: true }).notNull(),
  readingType: readingType('reading_type').notNull(),
  communicationStatus: communicationStatus('communication_status').notNull(),
  responseTimeMs: integer('response_time_ms').notNull(),
  error: text('error'),
  /** Scheduled reads: the tick they answer (unique per meter in each partition); null for on-demand reads. */
  tickAt: timestamp('tick_at', { withTimezone: true }),
  ...storedValues,
});

/** The last read that returned values, per meter, for fast dashboards. */
export const meterCurrentReadings = pgTable('meter_current_readings', {
  meterId: uuid('meter_id')
    .primaryKey()
    .references(() => meters.id, { onDelete: 'cascade' }),
  readAt: timestamp('read_at', { withTimezone: true }).notNull(),
  readingType: readingType('reading_type').notNull(),
  communicationStatus: communicationStatus('communication_status').notNull(),
  responseTimeMs: integer('response_time_ms').notNull(),
  ...storedValues,
});

export const meterEvents = pgTable('meter_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  meterId: uuid('meter_id')
    .notNull()
    .references(() => meters.id, { onDelete: 'cascade' }),
  eventType: text('event_type').notNull(),
  previousStatus: meterStatus('previous_status'),
  status: meterStatus('status'),
  reason: text('reason'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const meterCommands = pgTable('meter_commands', {
  id: uuid('id').primaryKey().defaultRandom(),
  meterId: uuid('meter_id')
    .notNull()
    .references(() => meters.id, { onDelete: 'cascade' }),
  commandType: commandType('command_type').notNull(),
  obisCode: text('obis_code'),
  oldValue: text('old_value'),
  newValue: text('new_value'),
  status: commandStatus('status').notNull().default('pending'),
  error: text('error'),
  responseTimeMs: integer('response_time_ms'),
  requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
  /** Set instead of requestedBy when an integration's API key asked. */
  requestedByKey: uuid('requested_by_key').references(() => apiKeys.id, { onDelete: 'set null' }),
  requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
});

/** Fleet-wide settings every process reads the same way (e.g. the polling interval in force). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const obisCatalog = pgTable('obis_catalog', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  unit: text('unit'),
  defaultScaler: smallint('default_scaler'),
  classId: smallint('class_id').notNull(),
  attribute: smallint('attribute').notNull().default(2),
  access: text('access').$type<'R' | 'RW'>().notNull(),
  valueType: text('value_type').$type<'number' | 'string' | 'datetime' | 'enum'>().notNull(),
  isDefault: boolean('is_default').notNull().default(false),
  description: text('description'),
});

/** A load profile's shape: capture period, and per value column its code, scaler and unit (migration 0008). */
export const loadProfileLayouts = pgTable('load_profile_layouts', {
  id: serial('id').primaryKey(),
  fingerprint: text('fingerprint').notNull().unique(),
  capturePeriodS: integer('capture_period_s').notNull(),
  codes: text('codes').array().notNull(),
  scalers: smallint('scalers').array().$type<number[]>().notNull(),
  units: text('units').array().$type<string[]>().notNull(),
});

/**
 * One load profile entry, once per (meter, profile, capture instant): the primary key. Partitioned by UTC
 * day on captured_at (`load_profile_entries_pYYYYMMDD`), dropped after PROFILE_RETENTION_DAYS.
 */
export const loadProfileEntries = pgTable('load_profile_entries', {
  meterId: uuid('meter_id').notNull(),
  capturedAt: timestamp('captured_at', { withTimezone: true }).notNull(),
  /** LOAD_PROFILES number: 1 = 1-0:99.1.0.255. */
  profile: smallint('profile').notNull(),
  /** DLMS status word (PROFILE_STATUS bits). */
  status: smallint('status').notNull(),
  layoutId: integer('layout_id').notNull(),
  raw: bigint('raw', { mode: 'number' }).array().notNull(),
});

/** Where a meter's profile collection stands. */
export const loadProfileState = pgTable('load_profile_state', {
  meterId: uuid('meter_id')
    .notNull()
    .references(() => meters.id, { onDelete: 'cascade' }),
  profile: smallint('profile').notNull(),
  capturePeriodS: integer('capture_period_s').notNull(),
  lastCapturedAt: timestamp('last_captured_at', { withTimezone: true }),
  lastCollectedAt: timestamp('last_collected_at', { withTimezone: true }).notNull(),
});

export type MeterRead = typeof meterReads.$inferSelect;
export type ReadLayoutRow = typeof readLayouts.$inferSelect;
export type MeterCommand = typeof meterCommands.$inferSelect;
export type ObisCatalogEntry = typeof obisCatalog.$inferSelect;
export type User = typeof users.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = typeof auditLog.$inferInsert;
export type NewUser = typeof users.$inferInsert;
export type Area = typeof areas.$inferSelect;
export type NewArea = typeof areas.$inferInsert;
export type Meter = typeof meters.$inferSelect;
export type NewMeter = typeof meters.$inferInsert;
