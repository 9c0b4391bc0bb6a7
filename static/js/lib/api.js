// The one place patient pages call the JSON API (the offline outbox later wraps its writes).

/** The CSRF token the server put in <meta name="csrf-token">. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? '';
}

/**
 * Send a JSON request and return the parsed body; throws an Error carrying `status` and the
 * server's error object (`{code, message, fields}`) when the answer is not 2xx.
 */
export async function apiRequest(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(method === 'GET' ? {} : { 'X-CSRFToken': csrfToken() }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `Request failed (${response.status})`);
    error.status = response.status;
    error.detail = data?.error ?? null;
    throw error;
  }
  return data;
}

export const api = {
  get: (path) => apiRequest('GET', path),
  post: (path, body = {}) => apiRequest('POST', path, body),
  put: (path, body = {}) => apiRequest('PUT', path, body),
  patch: (path, body = {}) => apiRequest('PATCH', path, body),
  delete: (path) => apiRequest('DELETE', path),
};
