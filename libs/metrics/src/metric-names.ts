/**
 * Every metric name the services expose (besides prom-client's default process metrics), in one place so
 * that alert rules and dashboards can be checked against it (test/operations-deploy.e2e-spec.ts).
 */
export const METRICS = {
  /** worker: exchanges with meters, by result (success | partial | failed) and reading_type. */
  READS: 'hes_meter_reads_total',
  /** worker: duration of one meter exchange (connect, headers, body), by reading_type. */
  READ_DURATION: 'hes_meter_read_duration_seconds',
  /** worker: a scheduled read's start minus its planned tick. */
  POLL_LAG: 'hes_poll_lag_seconds',
  /** worker: one batched statement storing reads. */
  STORE_DURATION: 'hes_store_duration_seconds',
  /** worker: reads committed by the batched statements. */
  STORE_ROWS: 'hes_store_rows_total',
  /** worker: statements retried because PostgreSQL was unavailable or refused them. */
  STORE_RETRIES: 'hes_store_retries_total',
  /** worker: reads that could not be stored (refused row by row, or shutdown grace ran out). */
  STORE_LOST: 'hes_store_lost_total',
  /** worker: reads taken and waiting for their store (bounded by STORE_BUFFER_MAX_READS). */
  STORE_BACKLOG: 'hes_store_backlog_reads',
  /** api and worker: live events appended to the Redis stream, by event. */
  EVENTS_PUBLISHED: 'hes_events_published_total',
  /** worker: reading updates not published because no one watches their meter's room. */
  EVENTS_UNWATCHED: 'hes_events_unwatched_total',
  /** api: the fleet by status, from PostgreSQL. */
  METERS: 'hes_meters',
  /** api: BullMQ jobs by queue and state (waiting, active, delayed, failed). */
  QUEUE_JOBS: 'hes_queue_jobs',
  /** api: Socket.IO clients connected to this instance. */
  SOCKET_CLIENTS: 'hes_socket_clients',
  /** api: HTTP requests by method, route template and status code. */
  HTTP_DURATION: 'hes_http_request_duration_seconds',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];
