import { encodeRealtimeEntry, realtimeEntryFields, realtimeRedisNames } from '@app/contracts';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RealtimeSessions } from './realtime-sessions';

describe('RealtimeSessions (real Redis)', () => {
  const names = realtimeRedisNames(`sessions-${randomBytes(3).toString('hex')}`, process.env.REDIS_URL!);
  let redis: Redis;
  let sessions: RealtimeSessions;
  const append = (n: number, rooms: string[]) =>
    redis.xadd(
      names.stream,
      '*',
      ...realtimeEntryFields(encodeRealtimeEntry(`p:${n}`, 'meter-reading-update', { n }, rooms)),
    ) as Promise<string>;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
    sessions = new RealtimeSessions(redis, names, 60_000);
  });

  afterAll(async () => {
    await redis.del(names.stream);
    redis.disconnect();
  });

  it('stores a session without its data, and gives it back once with the events of its rooms, in order', async () => {
    const offset = await append(0, ['meter-a']);
    await sessions.persist({
      sid: 's1',
      pid: 'p1',
      rooms: ['s1', 'meter-a', 'meters'],
      data: { token: 'secret' },
    });
    expect(await redis.get(`${names.sessionKeyPrefix}p1`)).not.toContain('secret');
    const ids: string[] = [];
    // more than one page of entries, most of them for other rooms
    for (let n = 1; n <= 2500; n++) {
      const rooms = n % 500 === 0 ? ['meter-b', 'meters'] : n % 100 === 0 ? ['meter-a'] : ['meter-z'];
      const id = await append(n, rooms);
      if (n % 100 === 0) ids.push(id);
    }
    await append(2501, ['meter-a-bis']); // a room name that merely contains one of the session's

    const session = await sessions.restore('p1', offset);
    expect(session).toMatchObject({ sid: 's1', pid: 'p1', rooms: ['s1', 'meter-a', 'meters'], data: {} });
    expect(session.missedPackets).toEqual(
      ids.map((id, i) => ['meter-reading-update', { n: (i + 1) * 100 }, id]),
    );
    await expect(sessions.restore('p1', offset)).rejects.toThrow(/not found/);
  });

  it('refuses an offset no longer in the stream, and a malformed one', async () => {
    const offset = await append(1, ['meter-a']);
    await sessions.persist({ sid: 's2', pid: 'p2', rooms: ['s2'], data: {} });
    await expect(sessions.restore('p2', '1-0')).rejects.toThrow(/not found/);
    await sessions.persist({ sid: 's2', pid: 'p2', rooms: ['s2'], data: {} });
    await expect(sessions.restore('p2', `${offset} `)).rejects.toThrow(/invalid offset/);
  });

  it('trims the stream by age: entries older than the window and the margin go', async () => {
    const before = await redis.xlen(names.stream);
    expect(before).toBeGreaterThan(0);
    await sessions.trim(0, Date.now() + 60_000 + 1000);
    expect(await redis.xlen(names.stream)).toBe(0);
  });
});
