// The audit trail (admins only): who viewed, saved and signed which image, and when.
import { call, header } from './api.js';

header();
try {
  const entries = await call('GET', '/api/v1/audit?limit=500');
  const body = document.getElementById('rows');
  for (const e of entries) {
    const tr = document.createElement('tr');
    for (const text of [new Date(e.at).toLocaleString(), e.user, e.action, e.job ?? '', e.detail ?? '']) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
} catch (e) { document.getElementById('message').textContent = e.message; }
