// The JSON API as the app uses it. The session is an HttpOnly cookie the browser sends by
// itself; every request that changes something also sends the session's CSRF token
// (from the sign-in answer, or from GET /api/me after a reload). Errors are RFC 9457
// problem details: their `detail` is what the user reads.

/** The role ladder: each role may do what the ones below it may. */
export const ROLES = ['viewer', 'clerk', 'accountant', 'approver', 'admin'];

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token;
}

/** Called on any 401 (the session ended): the app goes to the sign-in page. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** "?a=1&b=x" from an object, leaving out empty values. */
export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null && value !== undefined && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { title: response.statusText, detail: `HTTP ${response.status} ${response.statusText}` };
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401 && path !== '/api/login') onUnauthorized();
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => api(path);
export const post = (path, body) => api(path, { method: 'POST', body });

/** Uploads a multipart form with XMLHttpRequest, which reports upload progress (fetch
 * does not): `onProgress(loaded, total)`. Resolves with the answer's JSON (the job). */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('Accept', 'application/json');
    if (csrfToken) request.setRequestHeader('X-CSRF-Token', csrfToken);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener('load', () => {
      let answer = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        answer = { detail: `HTTP ${request.status}` };
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(answer);
      } else {
        if (request.status === 401) onUnauthorized();
        reject(new ApiError(request.status, answer));
      }
    });
    request.addEventListener('error', () => reject(new ApiError(0, { detail: 'network error' })));
    request.send(form);
  });
}

/** Polls a job until it has succeeded or failed: `onProgress(job)` after each look. */
export async function waitForJob(id, onProgress, intervalMs = 400) {
  for (;;) {
    const job = await get(`/api/jobs/${id}`);
    onProgress(job);
    if (job.state === 'succeeded' || job.state === 'failed') return job;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
