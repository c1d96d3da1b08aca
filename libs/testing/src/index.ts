export * from './processes';
export * from './api';
export * from './dedicated-services';
export * from './prometheus';
