export * from './metric-names';
export * from './metrics.module';
export * from './event-metrics';
export * from './read-metrics';
export * from './metrics-endpoint';
export * from './hot-path-metrics';
