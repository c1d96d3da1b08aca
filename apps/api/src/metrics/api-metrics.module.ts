import { Module } from '@nestjs/common';
import { FleetMetrics } from './fleet-metrics';
import { FleetStatusRepository } from './fleet-status.repository';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';

/**
 * The api's Prometheus surface: GET /metrics, request durations (HttpMetrics, installed by configureApp),
 * fleet and queue gauges. Needs MetricsModule.forRoot() and the BullMQ queues registered (PollingModule).
 */
@Module({
  controllers: [MetricsController],
  providers: [FleetStatusRepository, FleetMetrics, HttpMetrics],
  exports: [HttpMetrics],
})
export class ApiMetricsModule {}
