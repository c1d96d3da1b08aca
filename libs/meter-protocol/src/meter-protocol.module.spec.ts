import { WorkerEnv } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MeterCommunicationError } from './errors';
import { MeterProtocolModule } from './meter-protocol.module';
import { ScriptedMeter } from './testing/scripted-meter';
import { METER_TRANSPORT, type MeterTransport } from './types';

const V1 = '1-0:32.7.0.255';

describe('MeterProtocolModule', () => {
  let meter: ScriptedMeter;

  beforeAll(async () => {
    meter = await ScriptedMeter.start();
  });
  afterAll(() => meter.stop());

  async function boot(env: Partial<WorkerEnv>) {
    @Global()
    @Module({
      providers: [{ provide: WorkerEnv, useValue: Object.assign(new WorkerEnv(), env) }],
      exports: [WorkerEnv],
    })
    class Settings {}
    const moduleRef = await Test.createTestingModule({
      imports: [Settings, MeterProtocolModule.forRoot()],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { app, transport: app.get<MeterTransport>(METER_TRANSPORT) };
  }

  it.each([
    [{}, 'undici'],
    [{ METER_HTTP_CLIENT: 'undici' as const }, 'undici'],
    [{ METER_HTTP_CLIENT: 'axios' as const }, 'axios'],
  ])(
    'METER_HTTP_CLIENT %j gives the %s transport, configured and closed on shutdown',
    async (extra, kind) => {
      const { app, transport } = await boot({
        METER_TIMEOUT_MS: 300,
        METER_RESPONSE_MAX_BYTES: 2048,
        METER_ALLOWED_NETWORKS: '127.0.0.0/8',
        METER_ALLOWED_PORTS: '1024-65535',
        ...extra,
      });
      expect(transport.kind).toBe(kind);
      const target = { ipAddress: '127.0.0.1', port: meter.port, meterNumber: 'M1' };

      meter.json(200, { [V1]: 230.4 });
      expect((await transport.read(target, [V1])).readings[0].value).toBe(230.4);

      meter.json(200, { padding: 'x'.repeat(4096) });
      await expect(transport.read(target, [V1])).rejects.toMatchObject({ kind: 'too-large' });

      meter.respond(() => undefined);
      await expect(transport.read(target, [V1])).rejects.toMatchObject({
        kind: 'timeout',
        message: 'no answer within 300 ms',
      });
      meter.dropConnections();

      await app.close();
      const afterClose = await transport.read(target, [V1]).catch((e: unknown) => e);
      expect(afterClose).toBeInstanceOf(MeterCommunicationError);
      expect(afterClose).toMatchObject({ message: 'meter transport is closed' });
    },
  );

  it('uses the private-range default when METER_ALLOWED_NETWORKS is unset: loopback is refused', async () => {
    const { app, transport } = await boot({ METER_ALLOWED_PORTS: '1024-65535' });
    meter.connections = 0;
    await expect(
      transport.read({ ipAddress: '127.0.0.1', port: meter.port, meterNumber: 'M1' }, [V1]),
    ).rejects.toMatchObject({
      kind: 'not-allowed',
      message: expect.stringMatching(/METER_ALLOWED_NETWORKS/),
    });
    expect(meter.connections).toBe(0);
    await app.close();
  });

  it('uses the seed ports by default (METER_ALLOWED_PORTS 8080,80): another port is refused', async () => {
    const { app, transport } = await boot({ METER_ALLOWED_NETWORKS: '127.0.0.0/8' });
    meter.connections = 0;
    await expect(
      transport.read({ ipAddress: '127.0.0.1', port: meter.port, meterNumber: 'M1' }, [V1]),
    ).rejects.toMatchObject({
      kind: 'not-allowed',
      message: expect.stringMatching(/METER_ALLOWED_PORTS \(8080,80\)/),
    });
    expect(meter.connections).toBe(0);
    await app.close();
  });
});
