import { MeterAddressPolicy } from '@app/meter-network';
import { DEFAULT_OBIS_CODES } from '@app/obis';
import { MeterCommunicationError } from './errors';
import { createMeterTransport } from './create-meter-transport';
import { closedPort, ScriptedMeter } from './testing/scripted-meter';
import {
  METER_TRANSPORT_KINDS,
  type MeterTarget,
  type MeterTransport,
  type MeterTransportOptions,
} from './types';

const TIMEOUT_MS = 400;
const MAX_BYTES = 4096;
/** Generous upper bound (busy shared machine) that still proves the deadline ended the exchange. */
const DEADLINE_BOUND_MS = TIMEOUT_MS + 1500;
const V1 = '1-0:32.7.0.255';
const IMPORT = '1-0:1.8.0.255';
const CLOCK = '0-0:1.0.0.255';
const RELAY = '0-0:96.3.10.255';

async function failure(promise: Promise<unknown>): Promise<MeterCommunicationError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof MeterCommunicationError) return e;
    throw e;
  }
  throw new Error('expected the exchange to fail');
}

describe.each(METER_TRANSPORT_KINDS)('%s meter transport', (kind) => {
  let meter: ScriptedMeter;
  let transport: MeterTransport;
  let target: MeterTarget;
  const options = (extra: Partial<MeterTransportOptions> = {}): MeterTransportOptions => ({
    timeoutMs: TIMEOUT_MS,
    maxResponseBytes: MAX_BYTES,
    addressPolicy: MeterAddressPolicy.parse('10.0.0.0/8,127.0.0.0/8', '1024-65535'),
    ...extra,
  });

  beforeAll(async () => {
    meter = await ScriptedMeter.start();
    target = { ipAddress: '127.0.0.1', port: meter.port, meterNumber: 'MTR-0001' };
  });
  beforeEach(() => {
    transport = createMeterTransport(kind, options());
    meter.requests.length = 0;
    meter.connections = 0;
  });
  afterEach(async () => {
    await transport.close();
    meter.dropConnections();
  });
  afterAll(() => meter.stop());

  describe('reading', () => {
    it('POSTs canonical codes and the meter number to /api/read and scales format 1 once', async () => {
      meter.json(200, {
        readings: [
          { obisCode: V1, value: 2301, unit: 'V', scaler: -1, quality: 'good' },
          { obisCode: '1.8.0', value: 12345, unit: 'kWh', scaler: -2, quality: 'good' },
          { obisCode: CLOCK, value: '2025-01-31T12:00:00Z', quality: 'good' },
        ],
      });
      const result = await transport.read(target, ['32.7.0', '0100010800FF', CLOCK]);

      expect(meter.requests).toEqual([
        {
          method: 'POST',
          url: '/api/read',
          contentType: 'application/json',
          body: { obisCodes: [V1, IMPORT, CLOCK], meterNumber: 'MTR-0001' },
        },
      ]);
      expect(result.communicationStatus).toBe('success');
      expect(result.error).toBeUndefined();
      expect(result.readings).toEqual([
        {
          obisCode: V1,
          name: 'Voltage L1',
          rawValue: 2301,
          scaler: -1,
          unit: 'V',
          value: 230.1,
          quality: 'good',
        },
        {
          obisCode: IMPORT,
          name: 'Active Energy Import',
          rawValue: 12345,
          scaler: -2,
          unit: 'kWh',
          value: 123.45,
          quality: 'good',
        },
        expect.objectContaining({
          obisCode: CLOCK,
          name: 'Clock',
          value: '2025-01-31T12:00:00Z',
          quality: 'good',
        }),
      ]);
      expect(result.responseTime).toBeGreaterThanOrEqual(0);
    });

    it('takes format 2 values as physical, with catalog names and units', async () => {
      meter.json(200, { [V1]: 230.1, '1-0:1.8.0.255': 12345, '1-0:13.7.0.255': 0.97, '1-0:99.9.9.255': 1 });
      const result = await transport.read(target, [V1, IMPORT, '1-0:13.7.0.255']);
      expect(result.communicationStatus).toBe('success');
      expect(result.readings.map((r) => [r.obisCode, r.name, r.value, r.scaler, r.unit])).toEqual([
        [V1, 'Voltage L1', 230.1, null, 'V'],
        [IMPORT, 'Active Energy Import', 12345, null, 'Wh'],
        ['1-0:13.7.0.255', 'Power Factor', 0.97, null, null],
      ]);
    });

    it('reaches an IPv4-mapped IPv6 address inside the allowed networks', async () => {
      meter.json(200, { [V1]: 230 });
      const result = await transport.read({ ...target, ipAddress: '::ffff:127.0.0.1' }, [V1]);
      expect(result.communicationStatus).toBe('success');
      expect(meter.requests).toHaveLength(1);
    });

    it('refuses a malformed code before contacting the meter', async () => {
      await expect(transport.read(target, [V1, 'voltage'])).rejects.toThrow(TypeError);
      expect(meter.connections).toBe(0);
    });

    it('requests the 17 defaults when no codes are given', async () => {
      meter.json(200, Object.fromEntries(DEFAULT_OBIS_CODES.map((c) => [c, 1])));
      const result = await transport.read(target, []);
      expect((meter.requests[0].body as { obisCodes: string[] }).obisCodes).toEqual([...DEFAULT_OBIS_CODES]);
      expect(result.readings).toHaveLength(17);
    });

    it('is partial when some values are junk or missing, with the codes named', async () => {
      meter.json(200, {
        readings: [
          { obisCode: V1, value: 2301, scaler: -1 },
          { obisCode: IMPORT, value: 'garbage' },
        ],
      });
      const result = await transport.read(target, [V1, IMPORT, CLOCK]);
      expect(result.communicationStatus).toBe('partial');
      expect(result.readings.map((r) => [r.value, r.quality])).toEqual([
        [230.1, 'good'],
        [null, 'error'],
        [null, 'error'],
      ]);
      expect(result.readings[1].rawValue).toBe('garbage');
      expect(result.error).toBe(
        `2 of 3 values unusable: ${IMPORT} a string where a number was expected; ${CLOCK} missing`,
      );
    });

    it('is failed (a result, not an exception) when the answer has no usable value', async () => {
      meter.json(200, { [V1]: 'NaN', [IMPORT]: null });
      const result = await transport.read(target, [V1, IMPORT]);
      expect(result.communicationStatus).toBe('failed');
      expect(result.error).toMatch(/^no usable values: /);
    });

    it('reuses keep-alive connections for consecutive reads', async () => {
      meter.json(200, { [V1]: 230 });
      for (let i = 0; i < 10; i++) await transport.read(target, [V1]);
      expect(meter.requests).toHaveLength(10);
      // undici may dispatch the next request a tick before it marks the previous socket idle, so
      // back-to-back reads alternate between two sockets; without keep-alive this would be 10.
      expect(meter.connections).toBeLessThanOrEqual(2);
    });

    it('bounds concurrent connections per meter address', async () => {
      await transport.close();
      transport = createMeterTransport(kind, options({ connectionsPerOrigin: 2 }));
      meter.respond((_req, res) =>
        meter.after(50, () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"${V1}":230}`),
        ),
      );
      const results = await Promise.all(Array.from({ length: 6 }, () => transport.read(target, [V1])));
      expect(results.every((r) => r.communicationStatus === 'success')).toBe(true);
      expect(meter.connections).toBe(2);
    });
  });

  describe('failures', () => {
    it('refused: nothing listens on the port', async () => {
      const e = await failure(transport.read({ ...target, port: await closedPort() }, [V1]));
      expect(e.kind).toBe('refused');
      expect(e.message).toBe('connection refused');
    });

    it('timeout: the meter accepts but never answers', async () => {
      meter.respond(() => undefined);
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('timeout');
      expect(e.message).toBe(`no answer within ${TIMEOUT_MS} ms`);
      expect(e.responseTime).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(e.responseTime).toBeLessThan(DEADLINE_BOUND_MS);
    });

    it('timeout: headers arrive at once, then the body trickles past the deadline', async () => {
      meter.respond((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"readings":[');
        // A byte every 30 ms keeps every per-read idle timer happy; only a whole-exchange deadline stops it.
        meter.every(30, () => res.write(' '));
      });
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('timeout');
      expect(e.responseTime).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(e.responseTime).toBeLessThan(DEADLINE_BOUND_MS);
    });

    it('reset: the meter drops the connection instead of answering', async () => {
      meter.respond((req) => req.socket.destroy());
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('reset');
    });

    it('reset: the body is cut short of its declared length', async () => {
      meter.respond((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        res.write(`{"${V1}": 230,`);
        meter.after(20, () => req.socket.destroy());
      });
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('reset');
    });

    it('invalid-response: a complete body that is truncated JSON', async () => {
      meter.respond((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"${V1}": 23`),
      );
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('invalid-response');
      expect(e.message).toBe('response is not valid JSON');
    });

    it('invalid-response: HTML instead of JSON', async () => {
      meter.respond((_req, res) =>
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Login</html>'),
      );
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('invalid-response');
      expect(e.message).toBe('response is HTML, not JSON');
    });

    it('invalid-response: JSON that is not a meter answer', async () => {
      meter.json(200, ['a', 'list']);
      const e = await failure(transport.read(target, [V1]));
      expect(e).toMatchObject({
        kind: 'invalid-response',
        message: 'response is not a JSON object',
        statusCode: 200,
      });
    });

    it('http-error: HTTP 500, with the reason when the meter gives one', async () => {
      meter.respond((_req, res) => res.writeHead(500).end());
      const e = await failure(transport.read(target, [V1]));
      expect(e).toMatchObject({ kind: 'http-error', statusCode: 500, message: 'HTTP 500 from meter' });

      meter.json(404, { success: false, message: 'unknown meter MTR-0001' });
      const e404 = await failure(transport.read(target, [V1]));
      expect(e404).toMatchObject({
        kind: 'http-error',
        statusCode: 404,
        message: 'HTTP 404 from meter: unknown meter MTR-0001',
      });
    });

    it('too-large: a declared length over the cap', async () => {
      meter.json(200, { [V1]: 230, padding: 'x'.repeat(MAX_BYTES) });
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('too-large');
      expect(e.message).toBe(`response larger than ${MAX_BYTES} bytes`);
    });

    it('too-large: an endless chunked body is cut off, not buffered', async () => {
      let sent = 0;
      meter.respond((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"padding":"');
        const chunk = 'x'.repeat(1024);
        meter.every(1, () => {
          if (!res.destroyed) {
            res.write(chunk);
            sent += chunk.length;
          }
        });
      });
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('too-large');
      expect(sent).toBeLessThan(1024 * 1024);
    });

    it('not-allowed: an address outside the allowed networks is never contacted', async () => {
      await transport.close();
      transport = createMeterTransport(
        kind,
        options({ addressPolicy: MeterAddressPolicy.parse('10.0.0.0/8', '1024-65535') }),
      );
      meter.json(200, { [V1]: 230 });
      const read = await failure(transport.read(target, [V1]));
      const write = await failure(transport.write(target, RELAY, 'disconnected'));
      for (const e of [read, write]) {
        expect(e.kind).toBe('not-allowed');
        expect(e.message).toBe(
          'address 127.0.0.1 is outside METER_ALLOWED_NETWORKS (10.0.0.0/8); meter not contacted',
        );
      }
      // Give a stray connection attempt time to show up before asserting there was none.
      await new Promise((r) => setTimeout(r, 50));
      expect(meter.connections).toBe(0);
      expect(meter.requests).toHaveLength(0);
    });

    it('refuses host names and IPv4-mapped addresses outside the list', async () => {
      for (const ipAddress of ['localhost', '::ffff:8.8.8.8', '8.8.8.8']) {
        expect((await failure(transport.read({ ...target, ipAddress }, [V1]))).kind).toBe('not-allowed');
      }
      expect(meter.connections).toBe(0);
    });

    it('never contacts loopback through hex, decimal, octal or IPv4-mapped spellings when it is not allowed', async () => {
      await transport.close();
      transport = createMeterTransport(
        kind,
        options({ addressPolicy: MeterAddressPolicy.parse('10.0.0.0/8', '1024-65535') }),
      );
      const spellings = ['0x7f.1', '2130706433', '0177.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1'];
      for (const ipAddress of spellings) {
        expect((await failure(transport.read({ ...target, ipAddress }, [V1]))).kind).toBe('not-allowed');
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(meter.connections).toBe(0);
    });

    it('not-allowed: a port outside METER_ALLOWED_PORTS is never contacted, even inside the networks', async () => {
      await transport.close();
      transport = createMeterTransport(
        kind,
        options({ addressPolicy: MeterAddressPolicy.parse('127.0.0.0/8', '8080,80') }),
      );
      const e = await failure(transport.read(target, [V1]));
      expect(e.kind).toBe('not-allowed');
      expect(e.message).toBe(
        `port ${meter.port} is not in METER_ALLOWED_PORTS (8080,80); meter not contacted`,
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(meter.connections).toBe(0);
    });

    it('a closed transport contacts nobody', async () => {
      await transport.close();
      const e = await failure(transport.read(target, [V1]));
      expect(e).toMatchObject({ kind: 'network', message: 'meter transport is closed' });
      expect(meter.connections).toBe(0);
    });
  });

  describe('writing', () => {
    it('POSTs the canonical code, value and meter number to /api/write', async () => {
      meter.json(200, { success: true, previousValue: 'connected' });
      const result = await transport.write(target, '0.0.96.3.10.255', 'disconnected');
      expect(meter.requests).toEqual([
        {
          method: 'POST',
          url: '/api/write',
          contentType: 'application/json',
          body: { obisCode: RELAY, value: 'disconnected', meterNumber: 'MTR-0001' },
        },
      ]);
      expect(result).toEqual({
        success: true,
        previousValue: 'connected',
        statusCode: 200,
        responseTime: expect.any(Number),
      });
    });

    it('surfaces a 4xx refusal and its reason as a result', async () => {
      meter.json(403, { success: false, message: 'register 1-0:1.8.0.255 is read-only' });
      const result = await transport.write(target, IMPORT, 5);
      expect(result).toEqual({
        success: false,
        statusCode: 403,
        error: 'register 1-0:1.8.0.255 is read-only',
        responseTime: expect.any(Number),
      });
    });

    it('surfaces a refusal answered with 200 and success false', async () => {
      meter.json(200, { success: false, error: 'relay locked by tamper' });
      const result = await transport.write(target, RELAY, 'connected');
      expect(result).toMatchObject({ success: false, statusCode: 200, error: 'relay locked by tamper' });
    });

    it('throws on HTTP 5xx, refused connections and unusable answers', async () => {
      meter.respond((_req, res) => res.writeHead(503).end('busy'));
      expect(await failure(transport.write(target, RELAY, 'connected'))).toMatchObject({
        kind: 'http-error',
        statusCode: 503,
        message: 'HTTP 503 from meter: busy',
      });
      meter.json(200, { ok: 1 });
      expect((await failure(transport.write(target, RELAY, 'connected'))).kind).toBe('invalid-response');
      const refused = await failure(
        transport.write({ ...target, port: await closedPort() }, RELAY, 'connected'),
      );
      expect(refused.kind).toBe('refused');
    });
  });
});
