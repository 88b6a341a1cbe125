// The page's calls to the server's JSON API (/api/v1/..., server/web_api.h):
// unary JSON calls, uploads with progress, and the NDJSON propagation
// stream. A failure is thrown as an ApiError carrying the server's
// {"error": {"code", "message"}} (or the HTTP status when the body is not
// that JSON), so the page can show the person exactly what the server said.
//
// Bearer tokens: a server started with --token_file answers the API with
// 401 until a call carries "Authorization: Bearer <token>". Then the page
// shows its token form (#token-form) with the server's reason, keeps the
// token in sessionStorage (this tab only, gone when it closes; never in the
// URL or a cookie) and repeats the call with it; every later call sends it.
// Cancelling the form fails the call with the server's 401 error.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

// The ApiError of a failed response's body text.
function errorOf(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      return new ApiError(status, body.error.code, body.error.message);
    }
  } catch (e) {
    // not JSON: e.g. the HTTP server's own 413 or 429 text
  }
  return new ApiError(status, `HTTP ${status}`, text.trim() || "request failed");
}

const TOKEN_KEY = "sam2.bearerToken";

// The Authorization header of the stored token, if any.
function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? {"Authorization": `Bearer ${token}`} : {};
}

// Shows the token form with `refused`'s message; resolves once a token is
// submitted (and stored), rejects with `refused` when cancelled. Calls
// refused at the same time share one form.
let asking = null;
function askToken(refused) {
  if (asking) return asking;
  asking = new Promise((resolve, reject) => {
    const form = document.querySelector("#token-form");
    const input = form.querySelector("#token-input");
    const cancel = form.querySelector("#token-cancel");
    form.querySelector("#token-reason").textContent = refused.detail;
    input.value = "";
    form.hidden = false;
    input.focus();
    const finish = (submitted) => {
      form.hidden = true;
      form.onsubmit = null;
      cancel.onclick = null;
      asking = null;
      if (submitted) resolve(); else reject(refused);
    };
    form.onsubmit = (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      finish(true);
    };
    cancel.onclick = () => finish(false);
  });
  return asking;
}

// attempt() sends authHeaders(); while it is refused with 401 the person
// is asked for a (new) token and it runs again.
async function authorized(attempt) {
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken(e);
    }
  }
}

// fetch with the token; an unreachable server is an ApiError.
async function send(path, init = {}) {
  try {
    return await fetch(path, {...init, headers: {...(init.headers || {}), ...authHeaders()}});
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "UNAVAILABLE", `the server cannot be reached (${e.message})`);
  }
}

// POST `body` (an object, sent as JSON) to `path`; the parsed JSON answer.
export function call(path, body = {}) {
  return authorized(async () => {
    const response = await send(path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw errorOf(response.status, text);
    return JSON.parse(text);
  });
}

// GET `path`; the body as a Blob (e.g. a frame's JPEG).
export function getBlob(path) {
  return authorized(async () => {
    const response = await send(path);
    if (!response.ok) throw errorOf(response.status, await response.text());
    return response.blob();
  });
}

export function getInfo() {
  return authorized(async () => {
    const response = await send("/api/v1/info");
    if (!response.ok) throw errorOf(response.status, await response.text());
    return response.json();
  });
}

// POST a file (Blob) with its content type; onProgress(fraction) as it goes
// up (XMLHttpRequest: fetch cannot report upload progress).
export function upload(path, blob, contentType, headers = {}, onProgress = () => {}) {
  return authorized(() => uploadOnce(path, blob, contentType, headers, onProgress));
}

function uploadOnce(path, blob, contentType, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", contentType);
    const all = {...headers, ...authHeaders()};
    for (const [name, value] of Object.entries(all)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText));
      } else {
        reject(errorOf(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "UNAVAILABLE", "the upload failed (connection lost)"));
    xhr.send(blob);
  });
}

// POST `body` to a streaming route and call onLine(object) for each NDJSON
// frame line as it arrives. Resolves with the last line ({done: true,
// frames_done}); a last {error} line throws its ApiError; `signal` (an
// AbortController's) stops it: the connection closes and the server stops
// within one frame. A failure before the stream starts throws its ApiError.
export async function stream(path, body, onLine, signal) {
  const response = await authorized(async () => {
    const r = await send(path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
      signal,
    });
    if (!r.ok) throw errorOf(r.status, await r.text());
    return r;
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let last = null;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, {stream: true});
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      last = JSON.parse(line);
      if (last.error) throw new ApiError(200, last.error.code, last.error.message);
      if (!last.done) onLine(last);  // the last line only sums up
    }
  }
  return last;
}
