/** Longest pause between two attempts to reach Redis again. */
export const REDIS_RECONNECT_MAX_DELAY_MS = 2000;

/**
 * ioredis `retryStrategy` for BullMQ connections: never gives up, retries every ≤ 2 s. BullMQ's own
 * default grows as e^attempts up to 20 s, so after a 20 s outage its queues and workers could stay away
 * for another 20 s once Redis is back.
 */
export function redisRetryStrategy(attempt: number): number {
  return Math.min(attempt * 100, REDIS_RECONNECT_MAX_DELAY_MS);
}
