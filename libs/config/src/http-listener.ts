import type { Server } from 'node:http';

/**
 * Starts a plain `node:http` listener of a Nest provider (the api's push port, the worker's probes and
 * metrics) on `port` and resolves once it listens; a failure to listen (the port is taken) rejects. Later
 * server errors go to `onError`: left without a listener, one would end the process.
 */
export function listen(server: Server, port: number, onError: (err: Error) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      server.on('error', onError);
      resolve();
    });
  });
}
