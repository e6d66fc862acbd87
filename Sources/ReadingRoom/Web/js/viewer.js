// One image: rendered by the gateway from the spooled instance, the contours over it in SVG,
// zoom and pan, the editor, measurements from the server, save and sign.
import { call, currentSession, header, personName, dicomDate } from './api.js';
import { Editor } from './editor.js';

header();
const job = Number(location.pathname.split('/').pop());
const viewport = document.getElementById('viewport'), stage = document.getElementById('stage');
const img = document.getElementById('image'), overlay = document.getElementById('overlay');
const status = document.getElementById('status');
let item, editor, revision = 0;
const view = { scale: 1, tx: 0, ty: 0 };

function say(text, error = false) { status.textContent = text; status.className = error ? 'error' : 'notice'; }

function apply() {
  stage.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${view.scale})`;
  editor?.setScale(view.scale);
}
function fit() {
  const w = viewport.clientWidth, h = viewport.clientHeight;
  view.scale = Math.min(w / item.width, h / item.height);
  view.tx = (w - item.width * view.scale) / 2;
  view.ty = (h - item.height * view.scale) / 2;
  apply();
}
/** Zooms by `factor` keeping the viewport point (x, y) where it is. */
function zoom(factor, x = viewport.clientWidth / 2, y = viewport.clientHeight / 2) {
  const s = Math.min(40, Math.max(0.05, view.scale * factor));
  view.tx = x - (x - view.tx) * s / view.scale;
  view.ty = y - (y - view.ty) * s / view.scale;
  view.scale = s;
  apply();
}

let measureTimer;
function measureSoon(contours) {
  clearTimeout(measureTimer);
  updateSignLabel();
  measureTimer = setTimeout(async () => {
    try {
      const r = await call('POST', `/api/v1/review/items/${job}/measure`, { contours });
      showMeasurements(r.lesions.map(l => ({ long: l.long_axis_mm ?? l.long_axis_px, short: l.short_axis_mm ?? l.short_axis_px,
        area: l.area_mm2 ?? l.area_px, unit: l.long_axis_mm == null ? 'px' : 'mm' })));
    } catch (e) { say(e.message, true); }
  }, 250);
}
function showMeasurements(rows) {
  const body = document.getElementById('measurements');
  body.replaceChildren();
  rows.forEach((m, k) => {
    const tr = document.createElement('tr');
    for (const t of [k + 1, `${m.long?.toFixed(1)} ${m.unit}`, `${m.short?.toFixed(1)} ${m.unit}`, `${m.area?.toFixed(1)} ${m.unit}²`]) {
      const td = document.createElement('td'); td.textContent = t; tr.append(td);
    }
    body.append(tr);
  });
}
function changed() {
  return JSON.stringify(editor.contours) !== JSON.stringify(item.ai.contours) || document.getElementById('label').value !== item.ai.label;
}
function updateSignLabel() {
  document.getElementById('sign').textContent = changed() ? 'Sign correction' : 'Sign (accept AI result)';
}

async function load() {
  const s = await currentSession();
  item = await call('GET', `/api/v1/review/items/${job}`);
  revision = item.revision;
  document.title = `WeCare: ${personName(item.patient_name)}`;
  document.getElementById('patient').textContent = `${personName(item.patient_name)} · ${item.patient_id ?? '—'}`;
  document.getElementById('study').textContent = `study ${dicomDate(item.study_date)}`;
  const st = document.getElementById('state');
  st.textContent = item.state; st.className = `state state-${item.state}`;
  const p = item.ai.probabilities ?? {};
  document.getElementById('ai').textContent = `${item.ai.label} ${Math.round((p[item.ai.label] ?? 0) * 100)}% (` +
    Object.entries(p).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ') + `), ${item.ai.contours.length} outline(s)` +
    (item.signed ? `; signed revision ${item.revision} by ${item.signed.signed_by}` : '');
  document.getElementById('label').value = item.label;
  document.getElementById('comment').value = item.comment ?? '';
  img.width = item.width; img.height = item.height;
  overlay.setAttribute('width', item.width); overlay.setAttribute('height', item.height);
  overlay.setAttribute('viewBox', `0 0 ${item.width} ${item.height}`);
  editor = new Editor(overlay, { contours: item.contours, ai: item.ai.contours, onChange: measureSoon, editable: item.can_sign });
  window.wecare = { editor, view, item: () => item };   // for tests and the curious
  img.onload = () => { fit(); document.body.dataset.ready = 'true'; };
  img.src = `/api/v1/review/items/${job}/image`;
  for (const id of ['sign', 'save', 'undo', 'redo', 'delete', 'reset', 'mode-draw']) document.getElementById(id).disabled = !item.can_sign;
  if (!item.can_sign) say(`${s.role} accounts see the result; only a radiologist may change or sign it.`);
  measureSoon(editor.contours);
}

// Pan (drag the image), draw (drag in draw mode), zoom (wheel).
viewport.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 || !editor) return;
  // No native drag or text selection: either would cancel the pointer (pointercancel) mid-stroke.
  e.preventDefault();
  viewport.focus();
  const start = { x: e.clientX, y: e.clientY, tx: view.tx, ty: view.ty };
  const stroke = [];
  viewport.setPointerCapture(e.pointerId);
  let sketch;
  if (editor.mode === 'draw') {
    sketch = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    sketch.setAttribute('class', 'sketch');
    overlay.append(sketch);
    stroke.push(editor.toImage(e));
  } else editor.selected = null;
  const move = (m) => {
    if (editor.mode === 'draw') { stroke.push(editor.toImage(m)); sketch.setAttribute('points', stroke.map(p => p.join(',')).join(' ')); }
    else { view.tx = start.tx + m.clientX - start.x; view.ty = start.ty + m.clientY - start.y; apply(); }
  };
  const up = () => {
    viewport.removeEventListener('pointermove', move);
    viewport.removeEventListener('pointerup', up);
    if (editor.mode === 'draw') { sketch.remove(); if (!editor.addFreehand(stroke)) say('draw a larger closed outline', true); setMode('edit'); }
    else editor.render();
  };
  viewport.addEventListener('pointermove', move);
  viewport.addEventListener('pointerup', up);
});
viewport.addEventListener('wheel', (e) => {
  e.preventDefault();
  const r = viewport.getBoundingClientRect();
  zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
}, { passive: false });

function setMode(mode) {
  editor.mode = mode;
  viewport.classList.toggle('drawing', mode === 'draw');
  document.getElementById('mode-edit').classList.toggle('primary', mode === 'edit');
  document.getElementById('mode-draw').classList.toggle('primary', mode === 'draw');
}

async function sign() {
  if (!item.can_sign) return;
  const button = document.getElementById('sign');
  button.disabled = true;
  say('signing…');
  try {
    const r = await call('POST', `/api/v1/review/items/${job}/sign`, {
      contours: editor.contours, label: document.getElementById('label').value,
      comment: document.getElementById('comment').value, revision });
    // The server answers only once the signature and its objects are durable in the ledger.
    revision = r.revision;
    say(`Signed: revision ${r.revision} (${r.state}); on its way to the PACS.`);
    const st = document.getElementById('state');
    st.textContent = r.state; st.className = `state state-${r.state}`;
    document.body.dataset.signed = String(r.revision);
  } catch (e) { say(e.message, true); }
  finally { button.disabled = false; }
}

function neighbour(step) {
  const list = JSON.parse(sessionStorage.getItem('wecare.worklist') ?? '[]');
  const k = list.indexOf(job);
  const next = k < 0 ? undefined : list[k + step];
  if (next !== undefined) location.href = `/viewer/${next}`;
}

document.getElementById('show-overlay').addEventListener('change', (e) => { overlay.style.display = e.target.checked ? '' : 'none'; });
document.getElementById('show-ai').addEventListener('change', (e) => { editor.showAI = e.target.checked; editor.render(); });
document.getElementById('opacity').addEventListener('input', (e) => { overlay.style.opacity = e.target.value; });
document.getElementById('zoom-in').addEventListener('click', () => zoom(1.25));
document.getElementById('zoom-out').addEventListener('click', () => zoom(0.8));
document.getElementById('fit').addEventListener('click', fit);
document.getElementById('mode-edit').addEventListener('click', () => setMode('edit'));
document.getElementById('mode-draw').addEventListener('click', () => setMode('draw'));
document.getElementById('undo').addEventListener('click', () => editor.undo());
document.getElementById('redo').addEventListener('click', () => editor.redo());
document.getElementById('delete').addEventListener('click', () => editor.deleteSelected());
document.getElementById('reset').addEventListener('click', () => { editor.replace(item.ai.contours); document.getElementById('label').value = item.ai.label; });
document.getElementById('label').addEventListener('change', updateSignLabel);
document.getElementById('sign').addEventListener('click', sign);
document.getElementById('save').addEventListener('click', async () => {
  try {
    await call('PUT', `/api/v1/review/items/${job}/draft`, { contours: editor.contours, label: document.getElementById('label').value,
      comment: document.getElementById('comment').value });
    say('Draft saved (not signed).');
  } catch (e) { say(e.message, true); }
});
document.addEventListener('keydown', (e) => {
  if (e.target.closest('textarea, input, select')) return;
  const k = e.key;
  if ((e.ctrlKey || e.metaKey) && k === 'z') { e.preventDefault(); editor.undo(); }
  else if ((e.ctrlKey || e.metaKey) && (k === 'y' || k === 'Z')) { e.preventDefault(); editor.redo(); }
  else if (e.ctrlKey || e.metaKey || e.altKey) return;
  else if (k === 'n') neighbour(1);
  else if (k === 'p') neighbour(-1);
  else if (k === 'a') sign();
  else if (k === 'o') document.getElementById('show-overlay').click();
  else if (k === '+' || k === '=') zoom(1.25);
  else if (k === '-') zoom(0.8);
  else if (k === '0') fit();
  else if (k === 'e') setMode('edit');
  else if (k === 'd' && item.can_sign) setMode('draw');
  else if (k === 'Delete' || k === 'Backspace') editor.deleteSelected();
});
window.addEventListener('resize', () => item && fit());
load().catch(e => say(e.message, true));
