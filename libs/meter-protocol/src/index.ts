export * from './types';
export * from './errors';
export * from './response-parser';
export * from './http-meter-transport';
export * from './undici-meter-transport';
export * from './axios-meter-transport';
export * from './create-meter-transport';
export * from './meter-protocol.module';
