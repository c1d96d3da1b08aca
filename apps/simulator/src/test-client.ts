/** Real HTTP client for the simulator's specs (undici, like the worker's transport). */
import { Agent, request } from 'undici';

export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: unknown;
}

export class TestClient {
  readonly agent = new Agent({ keepAliveTimeout: 2000, connections: 8 });

  async post(base: string, path: string, body: unknown, timeoutMs = 5000): Promise<HttpResult> {
    return this.send('POST', base + path, typeof body === 'string' ? body : JSON.stringify(body), timeoutMs);
  }

  async get(url: string): Promise<HttpResult> {
    return this.send('GET', url, undefined, 5000);
  }

  async send(method: 'GET' | 'POST' | 'PUT', url: string, body: string | undefined, timeoutMs: number) {
    const res = await request(url, {
      method,
      body,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      dispatcher: this.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text, json };
  }

  /** The error a request ends with (throws if it succeeds). */
  async failure(base: string, path: string, body: unknown, timeoutMs = 5000): Promise<NodeJS.ErrnoException> {
    try {
      const r = await this.post(base, path, body, timeoutMs);
      throw new Error(`expected a failure, got HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    } catch (err) {
      if ((err as Error).message.startsWith('expected a failure')) throw err;
      return err as NodeJS.ErrnoException;
    }
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }
}

export interface ArrayReading {
  obisCode: string;
  value: number | string | null;
  unit: string;
  scaler: number;
  quality: string;
}

/** Physical values by OBIS code from either response format. */
export function physicalValues(json: unknown): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const body = json as { readings?: ArrayReading[] } & Record<string, number | string>;
  if (Array.isArray(body.readings)) {
    for (const r of body.readings) {
      if (r.quality !== 'good' || r.value === null) continue;
      out[r.obisCode] = typeof r.value === 'number' ? r.value * 10 ** r.scaler : r.value;
    }
    return out;
  }
  return { ...body };
}
