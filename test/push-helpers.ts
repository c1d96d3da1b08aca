/** Shared by the meter push suites: a free port for the push listener, and meters that sign their pushes. */
import { createServer } from 'node:net';
import request from 'supertest';
import { signPush } from '../apps/api/src/push/push-signature';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PushResponse {
  status: number;
  body: { success: boolean; message?: string; data?: unknown; error?: string };
}

/** POSTs `body` (object or exact string) to the push listener, signed with `secret` at `t` unless a header is given. */
export async function push(
  pushUrl: string,
  path: string,
  body: unknown,
  secret: string | null,
  options: { t?: number; header?: string } = {},
): Promise<PushResponse> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const header = options.header ?? (secret ? signPush(secret, raw, options.t) : undefined);
  let req = request(pushUrl).post(path).set('Content-Type', 'application/json');
  if (header) req = req.set('X-Meter-Signature', header);
  const res = await req.send(raw);
  return { status: res.status, body: res.body as PushResponse['body'] };
}

/** Creates (or rotates) a meter's push secret through the operators' API. */
export async function issuePushSecret(
  server: Parameters<typeof request>[0],
  token: string,
  meter: string,
): Promise<string> {
  const res = await request(server)
    .post(`/api/meters/${meter}/push-secret`)
    .set('Authorization', `Bearer ${token}`)
    .send();
  if (res.status !== 201) throw new Error(`push-secret ${meter}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.secret as string;
}
