// The worklist: newest first, pages of 50, filter by state and study date. The list of image
// numbers is kept for the viewer's next/previous keys.
import { call, header, personName, dicomDate } from './api.js';

header();
const params = new URLSearchParams(location.search);
const form = document.getElementById('filters');
const state = document.getElementById('state'), from = document.getElementById('from'), to = document.getElementById('to');
state.value = params.get('state') ?? '';
from.value = params.get('from') ?? '';
to.value = params.get('to') ?? '';
let page = Number(params.get('page') ?? 0);

async function load() {
  const q = new URLSearchParams({ page });
  if (state.value) q.set('state', state.value);
  if (from.value) q.set('from', from.value);
  if (to.value) q.set('to', to.value);
  history.replaceState(null, '', '/worklist?' + q);
  try {
    const data = await call('GET', '/api/v1/review/items?' + q);
    const body = document.getElementById('rows');
    body.replaceChildren();
    for (const row of data.rows) {
      const tr = document.createElement('tr');
      tr.className = 'row';
      tr.dataset.job = row.job;
      const cells = [personName(row.patient_name), row.patient_id ?? '—', dicomDate(row.study_date), row.label ?? '—',
        row.probability == null ? '—' : `${Math.round(row.probability * 100)}%`, null, new Date(row.received_at).toLocaleString()];
      for (const text of cells) {
        const td = document.createElement('td');
        if (text === null) {
          const span = document.createElement('span');
          span.className = `state state-${row.state}`;
          span.textContent = row.state === 'ready' ? 'ready for review'
            : row.state === 'delivered' ? `${row.outcome} · delivered` : row.state;
          td.append(span);
        } else td.textContent = text;
        tr.append(td);
      }
      if (row.state !== 'analysing' && row.state !== 'unavailable') tr.addEventListener('click', () => { location.href = `/viewer/${row.job}`; });
      body.append(tr);
    }
    sessionStorage.setItem('wecare.worklist', JSON.stringify(data.rows.filter(r => r.state !== 'analysing' && r.state !== 'unavailable').map(r => r.job)));
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    document.getElementById('page').textContent = `page ${data.page + 1} of ${pages} (${data.total} images)`;
    document.getElementById('prev').disabled = data.page === 0;
    document.getElementById('next').disabled = data.page + 1 >= pages;
  } catch (e) { document.getElementById('message').textContent = e.message; }
}

form.addEventListener('submit', (e) => { e.preventDefault(); page = 0; load(); });
document.getElementById('prev').addEventListener('click', () => { page = Math.max(0, page - 1); load(); });
document.getElementById('next').addEventListener('click', () => { page += 1; load(); });
load();
