export * from './schema';
export * from './database.module';
export * from './readings-codec';
export * from './read-layouts';
export * from './settings.repository';
export * from './read-partitions';
export * from './pg-pool';
export * from './outage-log';
