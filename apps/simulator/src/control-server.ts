/**
 * Control API (JSON over HTTP, 127.0.0.1 only) for tests and scripts; a thin mapping onto the in-process
 * SimulatorControl handle.
 *
 *   GET  /health                              { status, meters, gatewayUrl, rssBytes }
 *   GET  /manifest                            ManifestEntry[]
 *   GET  /meters?fault=&offset=&limit=        { total, meters: MeterSummary[] }
 *   GET  /meters/:meterNumber                 MeterDetail (true values now + last served)
 *   PUT  /meters/:meterNumber/fault           { mode, slowMs?, flappingEvery? } → MeterSummary
 *   PUT  /meters/:meterNumber/clock           { offsetMs?, driftPpm? } → { clock, offsetMs, driftPpm }
 *   POST /faults                              { mode, meterNumbers?, slowMs?, flappingEvery? } → { changed }
 *   GET  /counters?recentReads=1              CounterSnapshot
 *   POST /counters/reset                      { reset: true }
 *   PUT  /meters/:meterNumber/push-secret     { secret } → { meterNumber }   (pushing fleets)
 *   POST /meters/:meterNumber/alarm           { alarm: cover-open|tamper|clock-invalid, details? } → { status }
 *   GET  /push                                PushCounters (pushing fleets)
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { FAULT_MODES, FaultMode, isFaultMode } from './faults';
import { TRIGGERED_ALARMS } from './triggered-alarms';
import type { ManifestEntry, SetFaultOptions, SimulatorControl } from './types';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > 1_000_000) reject(new HttpError(413, 'body too large'));
    });
    req.on('end', () => {
      if (text.trim() === '') return resolve({});
      try {
        const body: unknown = JSON.parse(text);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return reject(new HttpError(400, 'body must be a JSON object'));
        }
        resolve(body as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function faultOptions(body: Record<string, unknown>): { mode: FaultMode; options: SetFaultOptions } {
  const { mode, slowMs, flappingEvery } = body;
  if (!isFaultMode(mode)) throw new HttpError(400, `mode must be one of ${FAULT_MODES.join(', ')}`);
  if (slowMs !== undefined && typeof slowMs !== 'number') throw new HttpError(400, 'slowMs must be a number');
  if (flappingEvery !== undefined && typeof flappingEvery !== 'number') {
    throw new HttpError(400, 'flappingEvery must be a number');
  }
  return { mode, options: { slowMs, flappingEvery } };
}

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${name} must be a non-negative integer`);
  return n;
}

export function createControlServer(
  control: SimulatorControl,
  info: { gatewayUrl: string; manifest: ManifestEntry[] },
): Server {
  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://control');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const key = `${method} /${parts[0] ?? ''}`;
    if (key === 'GET /health') {
      return [
        200,
        {
          status: 'ok',
          meters: info.manifest.length,
          gatewayUrl: info.gatewayUrl,
          rssBytes: process.memoryUsage.rss(),
        },
      ];
    }
    if (key === 'GET /manifest') return [200, info.manifest];
    if (key === 'GET /meters' && parts.length === 1) {
      const fault = url.searchParams.get('fault') ?? undefined;
      if (fault !== undefined && !isFaultMode(fault)) throw new HttpError(400, `unknown fault ${fault}`);
      return [
        200,
        control.listMeters({ fault, offset: intParam(url, 'offset'), limit: intParam(url, 'limit') }),
      ];
    }
    if (key === 'GET /meters' && parts.length === 2) {
      const detail = control.meterState(parts[1]);
      if (!detail) throw new HttpError(404, `unknown meter ${parts[1]}`);
      return [200, detail];
    }
    if (
      (method === 'PUT' || method === 'POST') &&
      parts[0] === 'meters' &&
      parts[2] === 'fault' &&
      parts.length === 3
    ) {
      if (!control.getMeter(parts[1])) throw new HttpError(404, `unknown meter ${parts[1]}`);
      const { mode, options } = faultOptions(await readJson(req));
      return [200, await control.setFault(parts[1], mode, options)];
    }
    if (method === 'PUT' && parts[0] === 'meters' && parts[2] === 'clock' && parts.length === 3) {
      if (!control.getMeter(parts[1])) throw new HttpError(404, `unknown meter ${parts[1]}`);
      const body = await readJson(req);
      const num = (v: unknown, name: string) => {
        if (v !== undefined && typeof v !== 'number') throw new HttpError(400, `${name} must be a number`);
        return v;
      };
      try {
        return [
          200,
          control.setClock(parts[1], {
            offsetMs: num(body.offsetMs, 'offsetMs'),
            driftPpm: num(body.driftPpm, 'driftPpm'),
          }),
        ];
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
    }
    if (method === 'PUT' && parts[0] === 'meters' && parts[2] === 'push-secret' && parts.length === 3) {
      if (!control.getMeter(parts[1])) throw new HttpError(404, `unknown meter ${parts[1]}`);
      const { secret } = await readJson(req);
      if (typeof secret !== 'string' || secret.length < 16)
        throw new HttpError(400, 'secret must be a string');
      try {
        control.setPushSecret(parts[1], secret);
      } catch (err) {
        throw new HttpError(409, (err as Error).message);
      }
      return [200, { meterNumber: parts[1] }];
    }
    if (method === 'POST' && parts[0] === 'meters' && parts[2] === 'alarm' && parts.length === 3) {
      if (!control.getMeter(parts[1])) throw new HttpError(404, `unknown meter ${parts[1]}`);
      const { alarm, details } = await readJson(req);
      if (typeof alarm !== 'string' || !(TRIGGERED_ALARMS as readonly string[]).includes(alarm)) {
        throw new HttpError(
          400,
          `alarm must be one of ${TRIGGERED_ALARMS.join(', ')} (power: the power-off fault)`,
        );
      }
      if (
        details !== undefined &&
        (typeof details !== 'object' || details === null || Array.isArray(details))
      ) {
        throw new HttpError(400, 'details must be an object');
      }
      if (!control.pushCounters())
        throw new HttpError(409, 'this fleet does not push (start it with --push <url>)');
      return [200, { status: await control.raiseAlarm(parts[1], alarm, details as Record<string, unknown>) }];
    }
    if (key === 'GET /push') {
      const counters = control.pushCounters();
      if (!counters) throw new HttpError(409, 'this fleet does not push (start it with --push <url>)');
      return [200, counters];
    }
    if (key === 'POST /faults') {
      const body = await readJson(req);
      const { mode, options } = faultOptions(body);
      const numbers = body.meterNumbers;
      if (numbers !== undefined && !(Array.isArray(numbers) && numbers.every((n) => typeof n === 'string'))) {
        throw new HttpError(400, 'meterNumbers must be an array of strings');
      }
      const unknown = (numbers as string[] | undefined)?.find((n) => !control.getMeter(n));
      if (unknown !== undefined) throw new HttpError(404, `unknown meter ${unknown}`);
      return [200, { changed: await control.setFaults(mode, numbers as string[] | undefined, options) }];
    }
    if (key === 'GET /counters') {
      const recent = url.searchParams.get('recentReads');
      return [200, control.counters({ recentReads: recent === '1' || recent === 'true' })];
    }
    if ((key === 'POST /counters' && parts[1] === 'reset') || key === 'DELETE /counters') {
      control.resetCounters();
      return [200, { reset: true }];
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  };

  return createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req).then(
      ([status, body]) => reply(res, status, body),
      (err: unknown) =>
        reply(res, err instanceof HttpError ? err.status : 500, {
          error: err instanceof Error ? err.message : String(err),
        }),
    );
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
