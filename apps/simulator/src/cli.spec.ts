import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../../../libs/testing/src/processes';
import { describeFleet, parseArgs } from './cli';
import { TestClient } from './test-client';
import type { ManifestEntry } from './index';

describe('simulator CLI', () => {
  it('parses every flag', () => {
    expect(
      parseArgs([
        '--meters',
        '1000',
        '--port=9000',
        '--host',
        '127.0.0.2',
        '--addresses',
        '127.20.0.0/16',
        '--format',
        'object',
        '--dead',
        '0.05',
        '--blackhole',
        '0.02',
        '--slow',
        '0.05:3000',
        '--error',
        '0.01',
        '--garbage',
        '0.01',
        '--flapping',
        '0.01:5',
        '--seed',
        '42',
        '--manifest',
        'm.json',
        '--control-port',
        '0',
        '--prefix',
        'X',
      ]),
    ).toEqual({
      meters: 1000,
      port: 9000,
      host: '127.0.0.2',
      addresses: '127.20.0.0/16',
      format: 'object',
      faults: { dead: 0.05, blackhole: 0.02, slow: 0.05, error: 0.01, garbage: 0.01, flapping: 0.01 },
      slowMs: 3000,
      flappingEvery: 5,
      seed: 42,
      manifestPath: 'm.json',
      controlPort: 0,
      prefix: 'X',
    });
  });

  it('rejects bad input with a clear message', () => {
    expect(() => parseArgs(['--meters', 'many'])).toThrow('--meters: invalid value "many"');
    expect(() => parseArgs(['--dead', '1.5'])).toThrow('--dead');
    expect(() => parseArgs(['--format', 'xml'])).toThrow('--format');
    expect(() => parseArgs(['--bogus', '1'])).toThrow('unknown option --bogus');
    expect(() => parseArgs(['--port'])).toThrow('--port needs a value');
    expect(() => parseArgs(['--profile-period', '0'])).toThrow('--profile-period');
  });

  it('takes the load profile capture period in seconds', () => {
    expect(parseArgs(['--profile-period', '60']).profilePeriodSec).toBe(60);
    expect(parseArgs([]).profilePeriodSec).toBeUndefined();
  });

  it('summarises large fleets instead of listing them', () => {
    const meters: ManifestEntry[] = Array.from({ length: 50 }, (_, i) => ({
      meterNumber: `SIM-${i}`,
      ipAddress: '127.0.0.1',
      port: 8080,
      format: 'array',
      fault: i < 5 ? 'dead' : 'ok',
    }));
    const lines = describeFleet(meters, 'http://127.0.0.1:8080').join('\n');
    expect(lines).toContain('faults: dead 5, ok 45');
    expect(lines).toContain('--manifest');
  });

  it('runs as a process: prints readiness, writes the manifest, serves, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    const manifest = join(dir, 'meters.json');
    const proc = await startProcess('simulator', {
      args: ['--meters', '3', '--port', '0', '--control-port', '0', '--manifest', manifest, '--dead', '0.34'],
      readyPattern: /simulator ready: .*control http:\S+/,
    });
    const client = new TestClient();
    try {
      const m = /simulator ready: 3 meters, gateway (http:\S+), control (http:\S+)/.exec(proc.output())!;
      expect(m).not.toBeNull();
      const [, gateway, control] = m;
      const meters = JSON.parse(readFileSync(manifest, 'utf8')) as ManifestEntry[];
      expect(meters.map((x) => x.fault).sort()).toEqual(['dead', 'ok', 'ok']);
      expect(proc.output()).toContain('SIM-000001');
      const ok = meters.find((x) => x.fault === 'ok')!;
      const res = await client.post(gateway, '/api/read', {
        meterNumber: ok.meterNumber,
        obisCodes: ['0-0:96.1.0.255'],
      });
      expect(res.status).toBe(200);
      expect((await client.get(`${control}/health`)).json).toMatchObject({ status: 'ok', meters: 3 });
    } finally {
      await client.close();
      expect(await proc.stop('SIGTERM')).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
