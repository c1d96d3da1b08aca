import type { WorkerEnv } from '@app/config';
import { createProfilePartition } from '@app/database';
import { createScratchDatabase, type ScratchDatabase } from '@app/testing';
import { Pool } from 'pg';
import { ProfileMaintenanceService } from './profile-maintenance.service';

/** Against a real, migrated PostgreSQL database of its own (dates far from today on purpose). */
describe('ProfileMaintenanceService (real PostgreSQL)', () => {
  let db: ScratchDatabase;
  let pool: Pool;
  let service: ProfileMaintenanceService;
  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
  const partitions = async () =>
    (
      await pool.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'load_profile_entries'::regclass and c.relname like 'load_profile_entries_p2031%'
         order by 1`,
      )
    ).rows.map((r) => r.name);

  beforeAll(async () => {
    db = await createScratchDatabase();
    pool = new Pool({ connectionString: db.url, max: 4 });
    service = new ProfileMaintenanceService(pool, { PROFILE_RETENTION_DAYS: 2 } as WorkerEnv);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('creates today and the next three days, drops days past retention, and the key holds in every partition', async () => {
    const client = await pool.connect();
    try {
      // A back-filled past day, created on demand as the profile store does.
      expect(await createProfilePartition(client, day('2031-05-01') + 3600_000)).toBe(true);
      expect(await createProfilePartition(client, day('2031-05-01'))).toBe(false);
    } finally {
      client.release();
    }
    const insert = (at: string) =>
      pool.query(
        `insert into load_profile_entries (meter_id, captured_at, profile, status, layout_id, raw)
         values ('00000000-0000-0000-0000-000000000001', $1, 1, 0, 1, '{1,2}')`,
        [at],
      );
    await insert('2031-05-01T10:00:00Z');
    await expect(insert('2031-05-01T10:00:00Z')).rejects.toMatchObject({ code: '23505' });

    const report = await service.run(day('2031-05-10') + 5000);
    expect(report.ran).toBe(true);
    expect(report.created).toEqual([
      'load_profile_entries_p20310510',
      'load_profile_entries_p20310511',
      'load_profile_entries_p20310512',
      'load_profile_entries_p20310513',
    ]);
    expect(report.dropped).toContain('load_profile_entries_p20310501');
    expect(await partitions()).toEqual(report.created);
    // Run again: nothing left to do.
    const again = await service.run(day('2031-05-10') + 6000);
    expect([again.created, again.dropped]).toEqual([[], []]);
  });
});
