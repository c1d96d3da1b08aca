import { corsSettings } from './cors';

describe('CORS_ORIGINS', () => {
  it('never combines any origin with credentials', () => {
    expect(corsSettings('*')).toEqual({ origin: '*', credentials: false });
    expect(corsSettings('https://ops.example, *')).toEqual({ origin: '*', credentials: false });
  });

  it('lets a listed origin send credentials', () => {
    expect(corsSettings(' https://ops.example ,https://b.example')).toEqual({
      origin: ['https://ops.example', 'https://b.example'],
      credentials: true,
    });
  });

  it('is off when unset or blank', () => {
    expect(corsSettings(undefined)).toBeUndefined();
    expect(corsSettings(' , ')).toBeUndefined();
  });
});
