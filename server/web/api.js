// The page's calls to the server's JSON API (/api/v1/..., server/web_api.h):
// unary JSON calls, uploads with progress, and the NDJSON propagation
// stream. A failure is thrown as an ApiError carrying the server's
// {"error": {"code", "message"}} (or the HTTP status when the body is not
// that JSON), so the page can show the person exactly what the server said.

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

// POST `body` (an object, sent as JSON) to `path`; the parsed JSON answer.
export async function call(path, body = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "UNAVAILABLE", `the server cannot be reached (${e.message})`);
  }
  const text = await response.text();
  if (!response.ok) throw errorOf(response.status, text);
  return JSON.parse(text);
}

// GET `path`; the body as a Blob (e.g. a frame's JPEG).
export async function getBlob(path) {
  const response = await fetch(path);
  if (!response.ok) throw errorOf(response.status, await response.text());
  return response.blob();
}

export async function getInfo() {
  const response = await fetch("/api/v1/info");
  if (!response.ok) throw errorOf(response.status, await response.text());
  return response.json();
}

// POST a file (Blob) with its content type; onProgress(fraction) as it goes
// up (XMLHttpRequest: fetch cannot report upload progress).
export function upload(path, blob, contentType, headers = {}, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", contentType);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
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
  const response = await fetch(path, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw errorOf(response.status, await response.text());
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
