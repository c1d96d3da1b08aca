import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, parsePushSecrets } from './cli';
import { signPushBody } from './pusher';
import { startSimulator } from './simulator';
import type { RunningSimulator } from './types';

interface Received {
  path: string;
  signature: string;
  body: string;
}

/** A stand-in head-end that records what the meters push. */
function headEnd(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', signature: String(req.headers['x-meter-signature']), body });
      res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"success":true}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }),
    ),
  );
}

describe('pushing meters', () => {
  let sim: RunningSimulator | undefined;
  let head: Awaited<ReturnType<typeof headEnd>>;

  beforeEach(async () => {
    head = await headEnd();
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    head.server.close();
  });

  it('sign t + "." + body with HMAC-SHA256', () => {
    const expected = createHmac('sha256', 'k'.repeat(32)).update('1700000000.{"a":1}').digest('hex');
    expect(signPushBody('k'.repeat(32), '{"a":1}', 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('push signed readings once they have a secret; power-off sends power-failure first, then silence, then power-restored', async () => {
    const secret = 's'.repeat(64);
    sim = await startSimulator({
      meters: 2,
      push: { url: head.url, intervalMs: 200, secrets: { 'SIM-000001': secret } },
    });
    await new Promise((r) => setTimeout(r, 700));
    const readings = head.received.filter((r) => r.path === '/push/readings');
    expect(readings.length).toBeGreaterThanOrEqual(2);
    for (const r of readings) {
      const body = JSON.parse(r.body) as Record<string, unknown>;
      expect(body.meterNumber).toBe('SIM-000001'); // SIM-000002 has no secret
      expect(typeof body.timestamp).toBe('string');
      const t = Number(/^t=(\d+),/.exec(r.signature)![1]);
      expect(r.signature).toBe(signPushBody(secret, r.body, t));
    }

    await sim.control.setFault('SIM-000001', 'power-off');
    const failureAt = head.received.findIndex((r) => r.path === '/push/alarms');
    expect(JSON.parse(head.received[failureAt].body)).toMatchObject({ alarm: 'power-failure' });
    await new Promise((r) => setTimeout(r, 150)); // a reading already on its way when the power went
    const countAtFailure = head.received.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(head.received.length).toBe(countAtFailure); // no power, no pushes

    await sim.control.setFault('SIM-000001', 'ok');
    await new Promise((r) => setTimeout(r, 300));
    const alarms = head.received
      .filter((r) => r.path === '/push/alarms')
      .map((r) => JSON.parse(r.body).alarm);
    expect(alarms).toEqual(['power-failure', 'power-restored']);
    expect(await sim.control.raiseAlarm('SIM-000002', 'tamper')).toBe(0); // no secret: nothing sent
    expect(sim.control.pushCounters()).toMatchObject({ refused: 0, failed: 0 });
  });

  it('CLI: --push, --push-interval, --push-secrets', () => {
    expect(parseArgs(['--push', 'http://127.0.0.1:5080', '--push-interval', '5'])).toMatchObject({
      push: { url: 'http://127.0.0.1:5080', intervalMs: 5000 },
    });
    expect(() => parseArgs(['--push-interval', '5'])).toThrow(/need --push/);
    expect(() => parseArgs(['--push', 'ftp://x'])).toThrow(/http/);
    expect(parsePushSecrets({ 'M-1': 'a' })).toEqual({ 'M-1': 'a' });
    expect(parsePushSecrets([{ meterNumber: 'M-2', pushSecret: 'b' }, { meterNumber: 'M-3' }])).toEqual({
      'M-2': 'b',
    });
  });
});
