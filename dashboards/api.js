// Calls to the service's API with the viewer's key; a problem+json answer (RFC 9457) becomes an ApiError.

/** A problem+json answer as an Error that keeps its status. */
export class ApiError extends Error {
  constructor(status, body) {
    super(`${status} ${body.title || ''}${body.detail ? `: ${body.detail}` : ''}`);
    this.status = status;
  }
}

/** fetch with the key; resolves to the JSON body of a 2xx, throws ApiError otherwise. */
export async function call(path, key, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { Authorization: `Bearer ${key}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
