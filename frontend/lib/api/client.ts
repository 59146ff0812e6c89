// The console's only fetch wrapper. Every call goes to this origin's /api/v1/..., which
// next.config.ts rewrites to the admin API; the httpOnly session cookie rides along by itself.
// Every call carries x-routerx-csrf: the admin API refuses a cookie-authenticated change
// without it, and a page on another origin cannot add it (custom headers need a CORS preflight,
// which the admin API never grants).

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface ApiErrorBody {
  error: {
    message: string;
    type?: string | null;
    param?: string | null;
    code?: string | null;
  };
}

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string | null;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterS: number | null;

  constructor(
    status: number,
    message: string,
    opts: { type?: string | null; param?: string | null; code?: string | null; retryAfterS?: number | null } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = opts.type ?? null;
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.retryAfterS = opts.retryAfterS ?? null;
  }

  get unauthenticated(): boolean {
    return this.status === 401;
  }

  get forbidden(): boolean {
    return this.status === 403;
  }
}

const BASE = "/api/v1";

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called whenever the admin API answers 401 (the session ended or expired). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => {
    unauthenticatedListeners.delete(listener);
  };
}

export function buildPath(path: string, query?: Query): string {
  const url = `${BASE}${path.startsWith("/") ? path : `/${path}`}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "message" in error;
}

interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Do not broadcast a 401 (the login form handles its own). */
  quiet401?: boolean;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "x-routerx-csrf": "1" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let response: Response;
  try {
    response = await fetch(buildPath(path, opts.query), {
      method,
      headers,
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The console could not reach the admin API. Check your connection.");
  }
  const text = await response.text();
  let payload: unknown = undefined;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  if (!response.ok) {
    const retryHeader = response.headers.get("retry-after");
    const retryAfterS = retryHeader && /^\d+$/.test(retryHeader) ? Number(retryHeader) : null;
    let error: ApiError;
    if (isErrorBody(payload)) {
      error = new ApiError(response.status, payload.error.message, { ...payload.error, retryAfterS });
    } else if (response.status >= 500) {
      error = new ApiError(response.status, `The admin API is not reachable right now (HTTP ${response.status} from the console's proxy).`, { retryAfterS });
    } else {
      error = new ApiError(response.status, `The admin API answered HTTP ${response.status}.`, { retryAfterS });
    }
    if (response.status === 401 && !opts.quiet401) {
      for (const listener of unauthenticatedListeners) listener();
    }
    throw error;
  }
  if (text && payload === undefined) {
    throw new ApiError(response.status, "The admin API sent an answer the console cannot read.");
  }
  return payload as T;
}

export const api = {
  get<T>(path: string, query?: Query, signal?: AbortSignal, opts: { quiet401?: boolean } = {}): Promise<T> {
    return request<T>("GET", path, { query, signal, quiet401: opts.quiet401 });
  },
  post<T>(path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
    return request<T>("POST", path, { body: body ?? {}, quiet401: opts.quiet401 });
  },
  patch<T>(path: string, body: unknown): Promise<T> {
    return request<T>("PATCH", path, { body });
  },
  put<T>(path: string, body: unknown): Promise<T> {
    return request<T>("PUT", path, { body });
  },
  delete<T = void>(path: string): Promise<T> {
    return request<T>("DELETE", path);
  },
};

/** A human sentence for any error a call may throw. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return "Something went wrong.";
}
