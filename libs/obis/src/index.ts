export * from './obis-code';
export * from './defaults';
