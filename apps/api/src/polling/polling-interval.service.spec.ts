import type { ApiEnv } from '@app/config';
import type { SettingsRepository } from '@app/database';
import { Logger } from '@nestjs/common';
import { PollingIntervalService } from './polling-interval.service';

/** An in-memory `settings` table with the repository's semantics (seed = insert if absent). */
class FakeSettings {
  readonly values = new Map<string, unknown>();
  get<T>(key: string): Promise<T | undefined> {
    return Promise.resolve(this.values.get(key) as T | undefined);
  }
  seed<T>(key: string, value: T): Promise<T> {
    if (!this.values.has(key)) this.values.set(key, value);
    return Promise.resolve(this.values.get(key) as T);
  }
  set<T>(key: string, value: T): Promise<T | undefined> {
    const before = this.values.get(key) as T | undefined;
    this.values.set(key, value);
    return Promise.resolve(before);
  }
}

describe('PollingIntervalService (the fleet-wide interval)', () => {
  let settings: FakeSettings;
  let warnings: string[];
  const service = (envInterval: number, prefix = 'hes') =>
    new PollingIntervalService(
      settings as unknown as SettingsRepository,
      {
        QUEUE_PREFIX: prefix,
        METER_POLLING_INTERVAL: envInterval,
      } as ApiEnv,
    );

  beforeEach(() => {
    settings = new FakeSettings();
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('the first instance seeds the value from its environment; a later one with another value keeps it and warns', async () => {
    expect(await service(2000).seedFromEnv()).toBe(2000);
    expect(warnings).toEqual([]);
    const other = service(5000);
    expect(await other.seedFromEnv()).toBe(2000);
    expect(await other.current()).toBe(2000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /METER_POLLING_INTERVAL=5000 is not in force.*2000 ms.*PUT \/api\/meters\/polling\/interval/,
    );
  });

  it('a change is seen by every instance, and the previous value is reported', async () => {
    const a = service(2000);
    const b = service(5000);
    await a.seedFromEnv();
    expect(await b.change(3000)).toEqual({ previousIntervalMs: 2000, intervalMs: 3000 });
    expect(await a.current()).toBe(3000);
  });

  it('each queue prefix has its own value', async () => {
    await service(2000, 'fleet-a').seedFromEnv();
    await service(7000, 'fleet-b').seedFromEnv();
    expect(await service(1000, 'fleet-a').current()).toBe(2000);
    expect(await service(1000, 'fleet-b').current()).toBe(7000);
  });

  it('refuses a stored value that is not an interval instead of scheduling with it', async () => {
    settings.values.set('polling.intervalMs:hes', 'soon');
    await expect(service(2000).current()).rejects.toThrow(/not an interval/);
    settings.values.set('polling.intervalMs:hes', 10);
    await expect(service(2000).current()).rejects.toThrow(/not an interval/);
  });
});
