export * from './processes';
export * from './api';
