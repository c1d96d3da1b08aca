import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** Flattens nested class-validator errors into `path: problem` lines. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    // class-validator messages usually name the property already ("port must…", "each value in meterIds…")
    const own = Object.values(e.constraints ?? {}).map((msg) => {
      const named = msg.startsWith('property ') || new RegExp(`\\b${e.property}\\b`).test(msg);
      if (!named) return `${path}: ${msg}`;
      return parent ? `${parent}.${msg}` : msg;
    });
    return [...own, ...describeValidationErrors(e.children ?? [], path)];
  });
}

/** Thrown for invalid input; the filter answers 400 with the problems in `message` and `details`. */
export class InputValidationException extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(`Invalid input: ${problems.join('; ')}`);
  }
}

/** whitelist + forbidNonWhitelisted (unknown fields → 400) + transform, with readable messages. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new InputValidationException(describeValidationErrors(errors)),
  });
}
