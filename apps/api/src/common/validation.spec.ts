import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConfigureOnlineDto } from '../meters/meters.dto';
import { describeValidationErrors } from './validation';

describe('describeValidationErrors', () => {
  it('gives one readable line per problem, element problems included', () => {
    const dto = plainToInstance(ConfigureOnlineDto, { meterIds: [1, 'ok'], port: 0 });
    const lines = describeValidationErrors(validateSync(dto));
    expect(lines).toEqual(
      expect.arrayContaining(['each value in meterIds must be a string', 'port must not be less than 1']),
    );
  });
});
