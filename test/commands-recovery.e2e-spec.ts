/**
 * Commands when no worker answers: the api gives up after its bounded wait (504), the audit record is
 * failed rather than left pending, and the queued write is never sent late — a worker that starts
 * afterwards drops it unsent because the requester has stopped waiting.
 */
import { startProcess, type StartedProcess } from '@app/testing';
import request from 'supertest';
import {
  registerMeter,
  startCommandStack,
  stackEnv,
  type CommandStack,
  type RegisteredMeter,
} from './commands-fixtures';

const DISCONNECT = '0-0:96.3.10.255';
const ENV = stackEnv({ METER_TIMEOUT_MS: '1000' });

describe('Commands without a worker (e2e)', () => {
  let stack: CommandStack;
  let meter: RegisteredMeter;
  let secondWorker: StartedProcess | undefined;

  beforeAll(async () => {
    stack = await startCommandStack({ meters: 2, addresses: '127.32.0.0/24', seed: 9 }, ENV);
    meter = await registerMeter(stack, stack.sim.meters[0]);
  }, 180_000);

  afterAll(async () => {
    await secondWorker?.stop();
    await stack?.stop();
  });

  const commands = async () =>
    (
      await request(stack.api.server)
        .get(`/api/meters/${meter.id}/commands`)
        .set('Authorization', `Bearer ${stack.tokens.viewer}`)
        .expect(200)
    ).body.data;

  it('answers 504 after the bounded wait, never leaves the command pending and never writes late', async () => {
    await stack.worker.stop(); // SIGTERM

    const started = Date.now();
    const res = await request(stack.api.server)
      .post(`/api/meters/${meter.id}/write-obis`)
      .set('Authorization', `Bearer ${stack.tokens.operator}`)
      .send({ obisCode: DISCONNECT, value: 'disconnected' })
      .expect(504);
    const waited = Date.now() - started;
    // 2 × METER_TIMEOUT_MS + 4 s of grace and slack.
    expect(waited).toBeGreaterThanOrEqual(5900);
    expect(waited).toBeLessThan(12_000);
    expect(res.body).toMatchObject({ success: false, error: 'Gateway Timeout' });
    expect(res.body.message).toMatch(/did not complete within 6000 ms/);
    const [record] = await commands();
    expect(record).toMatchObject({
      commandType: 'write',
      status: 'failed',
      error: expect.stringMatching(/no result/),
    });

    // A worker starting now finds the stale job and drops it without contacting the meter.
    secondWorker = await startProcess('worker', {
      env: ENV,
      readyPattern: /worker ready/,
      readyTimeoutMs: 90_000,
    });
    const deadline = Date.now() + 30_000;
    let latest = record;
    while (!/not contacted/.test(latest.error) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      [latest] = await commands();
    }
    expect(latest).toMatchObject({
      id: record.id,
      status: 'failed',
      error: expect.stringMatching(/not contacted/),
    });
    const simMeter = stack.sim.control.getMeter(meter.meterNumber)!;
    expect(simMeter.writes).toBe(0);
    expect(simMeter.connected).toBe(true);

    // The new worker serves fresh commands.
    await request(stack.api.server)
      .post(`/api/meters/${meter.id}/write-obis`)
      .set('Authorization', `Bearer ${stack.tokens.operator}`)
      .send({ obisCode: DISCONNECT, value: 'disconnected' })
      .expect(200);
    expect(stack.sim.control.getMeter(meter.meterNumber)!.connected).toBe(false);
  });
});
