import { INestApplicationContext, Logger } from '@nestjs/common';

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export interface GracefulShutdownOptions {
  /** SHUTDOWN_GRACE_MS: past it, what is still pending is logged and the process exits 1. */
  graceMs: number;
  logger?: Logger;
}

/**
 * SIGTERM/SIGINT close the app once, in Nest's order: onModuleDestroy (stop taking work),
 * beforeApplicationShutdown (finish and store in-flight work), the HTTP server, then
 * onApplicationShutdown, where global modules (the pg pool, Redis publishers) close last. Exit 0 when done;
 * a second signal is only logged (an impatient Ctrl-C must not cut a store in half); past the grace period
 * the process logs what was still open and exits 1. Use instead of `app.enableShutdownHooks`, which
 * re-raises the signal (exit by signal, never 0) and dies on a second one.
 */
export function closeOnSignals(app: INestApplicationContext, options: GracefulShutdownOptions): void {
  const logger = options.logger ?? new Logger('Shutdown');
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn(`${signal} received again: already stopping (grace ${options.graceMs} ms)`);
      return;
    }
    closing = true;
    logger.log(`${signal} received: stopping (grace ${options.graceMs} ms)`);
    const started = Date.now();
    const overdue = setTimeout(() => {
      logger.error(
        `shutdown still pending after ${options.graceMs} ms, exiting anyway; open: ${describeOpenResources()}`,
      );
      process.exit(1);
    }, options.graceMs);
    overdue.unref();
    app.close().then(
      () => {
        clearTimeout(overdue);
        logger.log(`stopped cleanly in ${Date.now() - started} ms`);
        process.exit(0);
      },
      (err: unknown) => {
        clearTimeout(overdue);
        logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

/** A count of what keeps the event loop busy (sockets, timers…), e.g. "TCPSocketWrap×3, Timeout×2". */
function describeOpenResources(): string {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind}×${n}`).join(', ') || 'nothing';
}

/**
 * A promise rejected with no handler would, by Node's default, kill the process; here it is logged as the
 * bug it is (the lint rule no-floating-promises keeps them out) and the process carries on serving.
 */
export function logUnhandledRejections(logger = new Logger('Process')): void {
  let count = 0;
  process.on('unhandledRejection', (reason: unknown) => {
    count++;
    const message = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    logger.error(`unhandled promise rejection #${count} (a bug): ${message}`);
  });
}
