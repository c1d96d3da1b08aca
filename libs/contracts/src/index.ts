export * from './queues';
export * from './events';
export * from './realtime-wire';
export * from './meter';
export * from './polling';
export * from './push';
export * from './load-profile';
