// Log in: JSON to /api/v1/login (a cross-site form cannot send JSON), then back where we came from.
const form = document.getElementById('login');
const message = document.getElementById('message');
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  message.textContent = '';
  const r = await fetch('/api/v1/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin',
    body: JSON.stringify({ name: form.name.value, password: form.password.value }),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { message.textContent = data.error ?? `Login failed (HTTP ${r.status})`; form.password.value = ''; return; }
  const next = new URLSearchParams(location.search).get('next');
  location.href = next && next.startsWith('/') && !next.startsWith('//') ? next : '/worklist';
});
