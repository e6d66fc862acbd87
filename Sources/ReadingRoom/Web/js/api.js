// The reading room's API client: the session's CSRF token goes with every change.
let session = null;

export async function currentSession() {
  if (session) return session;
  const r = await fetch('/api/v1/session', { credentials: 'same-origin' });
  if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search); throw new Error('not logged in'); }
  session = await r.json();
  return session;
}

export async function call(method, path, body) {
  const s = method === 'GET' ? null : await currentSession();
  const headers = {};
  if (s) headers['X-CSRF-Token'] = s.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname); throw new Error('not logged in'); }
  const data = r.headers.get('Content-Type')?.startsWith('application/json') ? await r.json() : null;
  if (!r.ok) throw new Error(data?.error ?? `HTTP ${r.status}`);
  return data;
}

export async function logout() {
  try { await call('POST', '/api/v1/logout'); } finally { location.href = '/login'; }
}

// DICOM PN "Family^Given" as "Family, Given"; DA "20261206" as "2026-12-06".
export function personName(pn) { if (!pn) return '—'; const [f, g] = pn.split('^'); return g ? `${f}, ${g}` : f; }
export function dicomDate(da) { return da && da.length === 8 ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6)}` : (da || '—'); }

export function header() {
  currentSession().then(s => {
    const who = document.getElementById('who');
    if (who) who.textContent = `${s.user} (${s.role})`;
    const audit = document.getElementById('audit-link');
    if (audit && s.role === 'admin') audit.hidden = false;
  });
  document.getElementById('logout')?.addEventListener('click', logout);
}
