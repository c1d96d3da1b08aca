export * from './envelope';
export * from './pagination.dto';
export * from './ids';
export * from './pg-errors';
export * from './validation';
export * from './all-exceptions.filter';
export * from './http-setup';
export * from './http-types';
