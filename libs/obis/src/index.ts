export * from './obis-code';
export * from './defaults';
export * from './catalog';
export * from './units';
export * from './scaling';
export * from './write-values';
