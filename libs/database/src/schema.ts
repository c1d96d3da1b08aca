/**
 * Drizzle table definitions. They mirror the committed SQL in ../migrations, which is what creates the
 * tables: change both together (a new numbered migration, never an edited one).
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
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
  ...timestamps,
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
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Area = typeof areas.$inferSelect;
export type NewArea = typeof areas.$inferInsert;
export type Meter = typeof meters.$inferSelect;
export type NewMeter = typeof meters.$inferInsert;
