import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ApiErrorDto, PaginationDto } from './envelope';

/** The statuses the api answers with the error envelope, and what each means on any route. */
const ERROR_STATUSES = {
  400: 'Invalid input: the message and details name each problem; nothing was changed',
  401: 'No, malformed, expired or revoked bearer token',
  403: "The caller's role may not do this",
  404: 'Not found (or deleted)',
  409: 'Conflicts with the current state: nothing was changed',
  413: 'Body larger than 1 MB',
  429: 'Too many attempts: retry after the Retry-After header',
  502: 'The meter answered with an error or garbage',
  503: 'A dependency (PostgreSQL or Redis) is unavailable: the message names it; retry later',
  504: 'The meter did not answer in time',
} as const;

export type ApiErrorStatus = keyof typeof ERROR_STATUSES;

/**
 * The error envelope `{ success: false, message, error }` for each status, with the usual meaning unless
 * `descriptions` says what it means on this route.
 */
export function ApiErrors(
  statuses: ApiErrorStatus[],
  descriptions: Partial<Record<ApiErrorStatus, string>> = {},
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, type: ApiErrorDto, description: descriptions[status] ?? ERROR_STATUSES[status] }),
    ),
  );
}

type Model = Type<unknown>;

/** `data` of an answer that only reports what was done (logout, closing a session). */
const NULL_DATA = {
  type: 'object' as const,
  nullable: true,
  example: null,
  description: 'Always null: the message says what was done',
};

function dataSchema(model: Model | null, isArray: boolean) {
  if (model === null) return NULL_DATA;
  const ref = { $ref: getSchemaPath(model) };
  return isArray ? { type: 'array' as const, items: ref } : ref;
}

/**
 * A success answer `{ success: true, message?, data }` whose data is `model` (or an array of it; or null
 * when `nullable`; always null when `model` is null). `alternatives` are other media types the route answers with instead of JSON (the
 * client chooses, e.g. `?format=csv`), each with its own schema.
 */
export function ApiOkEnvelope(
  model: Model | null,
  options: {
    status?: 200 | 201 | 202;
    description?: string;
    isArray?: boolean;
    nullable?: boolean;
    alternatives?: Record<string, SchemaObject>;
  } = {},
): MethodDecorator {
  const data = dataSchema(model, options.isArray ?? false);
  const envelope: SchemaObject = {
    type: 'object',
    required: ['success', 'data'],
    properties: {
      success: { type: 'boolean', enum: [true] },
      message: { type: 'string', description: 'What was done, on changes' },
      data: options.nullable ? { type: 'object', nullable: true, allOf: [data] } : data,
    },
  };
  const alternatives = Object.entries(options.alternatives ?? {});
  const response =
    alternatives.length === 0
      ? { schema: envelope }
      : {
          content: {
            'application/json': { schema: envelope },
            ...Object.fromEntries(alternatives.map(([type, schema]) => [type, { schema }])),
          },
        };
  return applyDecorators(
    ...(model ? [ApiExtraModels(model)] : []),
    ApiResponse({
      status: options.status ?? 200,
      description: options.description ?? 'Success',
      ...response,
    }),
  );
}

/**
 * A page of a list `{ success: true, data: model[], pagination }` (pagination: PaginationDto by default).
 * With several models, data is an array of one of them (the query decides which).
 */
export function ApiPageEnvelope(model: Model | Model[], pagination: Model = PaginationDto): MethodDecorator {
  const models = Array.isArray(model) ? model : [model];
  const data =
    models.length === 1 ? dataSchema(models[0], true) : { oneOf: models.map((m) => dataSchema(m, true)) };
  return applyDecorators(
    ApiExtraModels(...models, pagination),
    ApiResponse({
      status: 200,
      description: 'One page',
      schema: {
        type: 'object',
        required: ['success', 'data', 'pagination'],
        properties: {
          success: { type: 'boolean', enum: [true] },
          data,
          pagination: { $ref: getSchemaPath(pagination) },
        },
      },
    }),
  );
}
