import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { session } from '../session';

/** Thrown for every non-2xx answer: the api's error envelope `{ success: false, message, error }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response, request }) {
    // An expired or revoked token: back to the login page (the login call itself answers 401 for bad passwords).
    if (response.status === 401 && !request.url.endsWith('/api/auth/login')) session.clear();
    return response;
  },
};

/** Same origin as the console: the api serves both. Paths, parameters and bodies are checked against schema.d.ts. */
export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/**
 * Unwraps an openapi-fetch answer: the body on success, an ApiError with the envelope's message otherwise.
 * `T` names the envelope the api answers (see types.ts) where the document does not describe it yet.
 */
export async function call<T>(pending: Promise<FetchResult>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) {
    const message =
      error && typeof error === 'object' && 'message' in error && typeof error.message === 'string'
        ? error.message
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data as T;
}
