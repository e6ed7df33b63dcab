// JS half of the HTTP step runner (http.rs): one fetch per attempt, read whole, answered as
// [status, contentType, retryAfter, text] so Rust classifies it in one crossing.

export async function httpFetch(method, url, headers, body, signal) {
  const init = { method, headers: [], signal, redirect: 'follow' };
  for (let i = 0; i < headers.length; i += 2) init.headers.push([headers[i], headers[i + 1]]);
  if (body !== undefined) init.body = body;
  const response = await fetch(url, init);
  const text = method === 'HEAD' ? '' : await response.text();
  return [response.status, response.headers.get('content-type'), response.headers.get('retry-after'), text];
}

// Waits on any source with NotificationStream's `waitFor(pattern, predicate, { timeoutMs, signal })`.
export function awaitNotification(source, pattern, predicate, timeoutMs, signal) {
  return source.waitFor(pattern, predicate, { timeoutMs, signal });
}

export function isNotificationSource(source) {
  return source !== null && typeof source === 'object' && typeof source.waitFor === 'function';
}
