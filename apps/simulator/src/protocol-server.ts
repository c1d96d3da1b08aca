/**
 * The meter protocol over node:http: POST /api/read and /api/write. One http.Server handles the gateway
 * listener and every per-meter listener; a per-meter socket carries its meter, so identity costs nothing
 * per request. The hot path builds responses by string concatenation from precomputed fragments.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GARBAGE_VARIANTS, sendGarbage } from './faults';
import { Fleet } from './fleet';
import { LOAD_PROFILE_CODE, readProfile } from './load-profile';
import { nowMs, renderClock, SimMeter } from './meter-model';
import { canonicalObis } from './obis';
import {
  REGISTER_BY_CODE,
  REGISTERS,
  S_CLOCK_MS,
  S_CONNECTED,
  S_THRESHOLD,
  S_TZ_MIN,
  SNAPSHOT_SIZE,
} from './registers';

/** Set on sockets accepted by a meter's own listener. */
export const METER_SOCKET = Symbol('simulator.meter');
export type MeterSocket = Socket & { [METER_SOCKET]?: SimMeter };

const MAX_BODY = 64 * 1024;
const MAX_CACHED_SPELLINGS = 10_000;

interface Resolved {
  /** Register index, or −1 for a code the meter does not have. */
  reg: number;
  /** Format 1: `{"obisCode":"<as asked>","value":` */
  arrayPrefix: string;
  /** Format 2: `"<as asked>":` */
  objectPrefix: string;
}

// Requests repeat the same few codes, so each spelling is resolved once.
const spellings = new Map<string, Resolved>();

function resolve(code: string): Resolved {
  let r = spellings.get(code);
  if (r !== undefined) return r;
  const canonical = canonicalObis(code);
  const reg = canonical === null ? -1 : (REGISTER_BY_CODE.get(canonical) ?? -1);
  const quoted = JSON.stringify(code);
  r = { reg, arrayPrefix: `{"obisCode":${quoted},"value":`, objectPrefix: `${quoted}:` };
  if (spellings.size >= MAX_CACHED_SPELLINGS) spellings.clear();
  spellings.set(code, r);
  return r;
}

export function registerIndexOf(code: string): number {
  return resolve(code).reg;
}

/** Value of register `reg` as JSON text: raw (format 1) or physical (format 2). */
export function valueJson(meter: SimMeter, reg: number, snap: Float64Array, raw: boolean): string {
  const def = REGISTERS[reg];
  switch (def.kind) {
    case 'number':
      return raw ? String(snap[def.slot]) : String(snap[def.slot] / meter.profile.flatDivisor[reg]);
    case 'clock':
      return `"${renderClock(snap[S_CLOCK_MS], snap[S_TZ_MIN])}"`;
    case 'serial':
      return meter.serialJson;
    case 'disconnect':
      return snap[S_CONNECTED] === 1 ? '"connected"' : '"disconnected"';
  }
}

const SNAP = new Float64Array(SNAPSHOT_SIZE);
const UNKNOWN_SUFFIX = 'null,"unit":"","scaler":0,"quality":"error"}';

export function buildReadBody(meter: SimMeter, codes: readonly string[], t: number): string {
  meter.snapshot(t, SNAP);
  meter.rememberServed(SNAP);
  if (meter.format === 'array') {
    const suffix = meter.profile.suffix;
    let s = '{"readings":[';
    for (let i = 0; i < codes.length; i++) {
      const r = resolve(codes[i]);
      if (i > 0) s += ',';
      s += r.arrayPrefix;
      s += r.reg < 0 ? UNKNOWN_SUFFIX : valueJson(meter, r.reg, SNAP, true) + suffix[r.reg];
    }
    return s + ']}';
  }
  let s = '{';
  for (let i = 0; i < codes.length; i++) {
    const r = resolve(codes[i]);
    if (r.reg < 0) continue;
    if (s.length > 1) s += ',';
    s += r.objectPrefix + valueJson(meter, r.reg, SNAP, false);
  }
  return s + '}';
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, [
    'Content-Type',
    'application/json',
    'Content-Length',
    String(Buffer.byteLength(body)),
  ]);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, error: string, write: boolean): void {
  send(res, status, JSON.stringify(write ? { success: false, error } : { error }));
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function parseClock(value: unknown): { ms: number; tzMin: number } | null {
  if (typeof value !== 'string') return null;
  const m = ISO_8601.exec(value);
  if (!m) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return null;
  const tz = m[1];
  if (tz === 'Z') return { ms, tzMin: 0 };
  const digits = tz.replace(':', '');
  const tzMin = (tz[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  return Math.abs(tzMin) <= 14 * 60 ? { ms, tzMin } : null;
}

function parseRelay(value: unknown): boolean | null {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === 'connected') return true;
    if (v === 'disconnected') return false;
  }
  return null;
}

type WriteOutcome = { status: number; body: string };

/** Applies a write; read-only codes answer 403, unknown codes and values of the wrong type 400. */
export function applyWrite(meter: SimMeter, code: string, value: unknown, t: number): WriteOutcome {
  const fail = (status: number, error: string) => ({
    status,
    body: JSON.stringify({ success: false, error }),
  });
  const reg = resolve(code).reg;
  if (reg < 0) return fail(400, `unknown OBIS code ${code}`);
  const def = REGISTERS[reg];
  if (!def.writable) return fail(403, `${code} (${def.name}) is read-only`);
  const snap = new Float64Array(SNAPSHOT_SIZE);
  meter.snapshot(t, snap);
  let previousValue: string | number;
  let written: string | number;
  switch (def.kind) {
    case 'clock': {
      const clock = parseClock(value);
      if (clock === null) return fail(400, `${code} (clock) needs an ISO 8601 date-time with offset`);
      previousValue = renderClock(snap[S_CLOCK_MS], snap[S_TZ_MIN]);
      meter.setClock(clock.ms, t);
      meter.clockTzMin = clock.tzMin;
      written = renderClock(clock.ms, clock.tzMin);
      break;
    }
    case 'disconnect': {
      const connected = parseRelay(value);
      if (connected === null) {
        return fail(400, `${code} (disconnect control) takes "connected"/"disconnected", 1/0 or true/false`);
      }
      previousValue = meter.connected ? 'connected' : 'disconnected';
      meter.setConnected(connected, t);
      written = connected ? 'connected' : 'disconnected';
      break;
    }
    default: {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1e9) {
        return fail(400, `${code} (${def.name}) takes a whole number of W between 0 and 1e9`);
      }
      previousValue = snap[S_THRESHOLD];
      meter.thresholdW = value;
      written = value;
    }
  }
  return {
    status: 200,
    body: JSON.stringify({ success: true, obisCode: code, value: written, previousValue }),
  };
}

const profilePrefixes = new Map<number, string>();

/** The capture objects after the clock: the meter's two energy registers, in its own unit and scaler. */
function profileHead(meter: SimMeter, periodMs: number): string {
  const key = meter.profile.energyUnit === 'kWh' ? -periodMs : periodMs;
  let head = profilePrefixes.get(key);
  if (head === undefined) {
    const unit = JSON.stringify(meter.profile.energyUnit);
    const scaler = meter.profile.energyUnit === 'kWh' ? -3 : 0;
    head =
      `{"profile":"${LOAD_PROFILE_CODE}","capturePeriodSec":${periodMs / 1000},"captureObjects":[` +
      `{"obisCode":"1-0:1.8.0.255","unit":${unit},"scaler":${scaler}},` +
      `{"obisCode":"1-0:2.8.0.255","unit":${unit},"scaler":${scaler}}],"entries":`;
    profilePrefixes.set(key, head);
  }
  return head;
}

/**
 * A profile read: `{ profile, from, to }` → `{ profile, capturePeriodSec, captureObjects, entries, more }`.
 * Returns null with the reason when the request is not one.
 */
function profileBody(meter: SimMeter, body: Record<string, unknown>, periodMs: number, t: number) {
  const code = typeof body.profile === 'string' ? canonicalObis(body.profile) : null;
  if (code !== LOAD_PROFILE_CODE) return { error: `unknown profile ${String(body.profile)}` };
  const from = typeof body.from === 'string' && ISO_8601.test(body.from) ? Date.parse(body.from) : NaN;
  const to = typeof body.to === 'string' && ISO_8601.test(body.to) ? Date.parse(body.to) : NaN;
  if (Number.isNaN(from) || Number.isNaN(to) || from > to) {
    return { error: 'from and to must be ISO 8601 date-times with offset, from <= to' };
  }
  const page = readProfile(meter, periodMs, from, to, t);
  return { json: `${profileHead(meter, periodMs)}${JSON.stringify(page.entries)},"more":${page.more}}` };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function createProtocolHandler(fleet: Fleet): (req: IncomingMessage, res: ServerResponse) => void {
  /** Runs the meter's fault; returns true when the request should be answered normally (maybe late). */
  const applyFault = (meter: SimMeter, isRead: boolean, req: IncomingMessage, res: ServerResponse) => {
    const action = fleet.admit(meter, isRead, nowMs());
    switch (action) {
      case 'ok':
      case 'slow':
        return true;
      case 'reset':
        req.socket.destroy();
        return false;
      case 'blackhole':
        // Consume the body so no server timeout answers for us; stop() destroys the socket.
        req.resume();
        return false;
      case 'error':
        req.resume();
        send(res, 500, '{"error":"internal meter error"}');
        return false;
      case 'garbage':
        req.resume();
        sendGarbage(res, GARBAGE_VARIANTS[meter.garbageCount++ % GARBAGE_VARIANTS.length]);
        return false;
    }
  };

  const answer = (meter: SimMeter, res: ServerResponse, status: number, body: string, isRead: boolean) => {
    const ok = isRead && status === 200;
    if (meter.fault !== 'slow') {
      if (ok) {
        meter.answered++;
        fleet.totals.answered++;
      }
      send(res, status, body);
      return;
    }
    const timer = setTimeout(() => {
      fleet.timers.delete(timer);
      if (res.destroyed || res.writableEnded) return;
      if (ok) {
        meter.answered++;
        fleet.totals.answered++;
      }
      send(res, status, body);
    }, meter.slowMs);
    fleet.timers.add(timer);
  };

  const handleBody = (req: IncomingMessage, res: ServerResponse, isRead: boolean, text: string) => {
    const dedicated = (req.socket as MeterSocket)[METER_SOCKET];
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const bad = (error: string) => {
      fleet.totals.badRequests++;
      sendError(res, 400, error, !isRead);
    };
    if (!isPlainObject(body)) return bad('request body must be a JSON object');
    const meterNumber = body.meterNumber;
    if (meterNumber !== undefined && typeof meterNumber !== 'string')
      return bad('meterNumber must be a string');
    let meter: SimMeter | undefined;
    if (dedicated !== undefined) {
      if (meterNumber !== undefined && meterNumber !== dedicated.meterNumber) {
        fleet.totals.notFound++;
        return sendError(res, 404, `meter ${meterNumber} is not at this address`, !isRead);
      }
      meter = dedicated;
    } else {
      if (meterNumber === undefined) return bad('meterNumber is required at the gateway address');
      meter = fleet.byNumber.get(meterNumber);
      if (meter === undefined) {
        fleet.totals.notFound++;
        return sendError(res, 404, `unknown meter ${meterNumber}`, !isRead);
      }
      if (!applyFault(meter, isRead, req, res)) return;
    }
    const t = nowMs();
    if (isRead && body.profile !== undefined) {
      const out = profileBody(meter, body, fleet.profilePeriodMs, t);
      if (out.json === undefined) return answer(meter, res, 400, JSON.stringify({ error: out.error }), true);
      return answer(meter, res, 200, out.json, true);
    }
    if (isRead) {
      const codes = body.obisCodes;
      if (!Array.isArray(codes) || !codes.every((c) => typeof c === 'string')) {
        return answer(meter, res, 400, '{"error":"obisCodes must be an array of strings"}', true);
      }
      return answer(meter, res, 200, buildReadBody(meter, codes as string[], t), true);
    }
    if (typeof body.obisCode !== 'string') {
      return answer(meter, res, 400, '{"success":false,"error":"obisCode must be a string"}', false);
    }
    if (body.value === undefined) {
      return answer(meter, res, 400, '{"success":false,"error":"value is required"}', false);
    }
    const outcome = applyWrite(meter, body.obisCode, body.value, t);
    answer(meter, res, outcome.status, outcome.body, false);
  };

  return (req, res) => {
    const url = req.url;
    const isRead = url === '/api/read';
    if (!isRead && url !== '/api/write') {
      req.resume();
      return sendError(res, 404, 'not found: the meter serves POST /api/read and POST /api/write', false);
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'POST');
      return sendError(res, 405, 'method not allowed', !isRead);
    }
    const dedicated = (req.socket as MeterSocket)[METER_SOCKET];
    // A meter with its own address fails before it even looks at the request.
    if (dedicated !== undefined && !applyFault(dedicated, isRead, req, res)) return;
    req.setEncoding('utf8');
    let text = '';
    let tooLarge = false;
    req.on('data', (chunk: string) => {
      if (tooLarge) return;
      text += chunk;
      if (text.length > MAX_BODY) {
        tooLarge = true;
        fleet.totals.badRequests++;
        sendError(res, 413, 'request body too large', !isRead);
      }
    });
    req.on('end', () => {
      if (!tooLarge) handleBody(req, res, isRead, text);
    });
  };
}
