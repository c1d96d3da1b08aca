export * from './meter-events.publisher';
export * from './realtime-publisher.module';
export * from './watched-meters';
