export * from './env';
export * from './validate-env';
export * from './config.module';
export * from './graceful-shutdown';
export * from './logging';
export * from './http-listener';
