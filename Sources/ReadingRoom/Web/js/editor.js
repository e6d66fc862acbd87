// The contour editor on the SVG overlay. Contours are closed polygons in source pixel
// coordinates ([[x, y], ...]); the SVG's viewBox is the image, so screen <-> image goes through
// the SVG's own transform (zoom and pan included). Every finished change is one undo step.
const NS = 'http://www.w3.org/2000/svg';

export class Editor {
  constructor(svg, { contours, ai, onChange, editable = true }) {
    this.svg = svg;
    this.editable = editable;   // false for viewers: they look, they change nothing
    this.contours = structuredClone(contours);
    this.ai = ai;
    this.onChange = onChange;
    this.undoStack = [];
    this.redoStack = [];
    this.selected = null;      // { c, i } a point, or { c } a contour
    this.mode = 'edit';
    this.scale = 1;
    this.showAI = true;
    this.render();
  }

  toImage(event) {
    const p = this.svg.createSVGPoint();
    p.x = event.clientX; p.y = event.clientY;
    const q = p.matrixTransform(this.svg.getScreenCTM().inverse());
    return [Math.round(q.x * 100) / 100, Math.round(q.y * 100) / 100];
  }

  snapshot() { return JSON.stringify(this.contours); }
  /** Records the state before a change as one undo step. */
  remember(before) { this.undoStack.push(before); this.redoStack = []; }
  /** Whether a change may be made (viewers may not). */
  mayChange() { return this.editable; }
  changed() { this.render(); this.onChange(this.contours); }

  undo() { if (!this.editable || !this.undoStack.length) return; this.redoStack.push(this.snapshot()); this.contours = JSON.parse(this.undoStack.pop()); this.selected = null; this.changed(); }
  redo() { if (!this.editable || !this.redoStack.length) return; this.undoStack.push(this.snapshot()); this.contours = JSON.parse(this.redoStack.pop()); this.selected = null; this.changed(); }
  replace(contours) { if (!this.editable) return; this.remember(this.snapshot()); this.contours = structuredClone(contours); this.selected = null; this.changed(); }

  deleteSelected() {
    if (!this.editable || !this.selected) return;
    const before = this.snapshot();
    const { c, i } = this.selected;
    if (i !== undefined && this.contours[c].length > 3) this.contours[c].splice(i, 1);
    else this.contours.splice(c, 1);   // a triangle loses its contour, not a point
    this.selected = null;
    this.remember(before);
    this.changed();
  }

  /** Inserts a point on the edge of contour c nearest to p. */
  insertPoint(c, p) {
    if (!this.editable) return;
    const pts = this.contours[c];
    let best = 0, bestD = Infinity;
    for (let k = 0; k < pts.length; k++) {
      const a = pts[k], b = pts[(k + 1) % pts.length];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
      const d = Math.hypot(a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
      if (d < bestD) { bestD = d; best = k; }
    }
    const before = this.snapshot();
    pts.splice(best + 1, 0, p);
    this.selected = { c, i: best + 1 };
    this.remember(before);
    this.changed();
  }

  /** A freehand stroke, thinned to points at least 3 px apart, becomes a closed contour. */
  addFreehand(stroke) {
    if (!this.editable) return false;
    const pts = [];
    for (const p of stroke) {
      const last = pts[pts.length - 1];
      if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= 3) pts.push(p);
    }
    if (pts.length < 3) return false;
    const before = this.snapshot();
    this.contours.push(pts);
    this.selected = { c: this.contours.length - 1 };
    this.remember(before);
    this.changed();
    return true;
  }

  setScale(scale) { this.scale = scale; this.render(); }

  render() {
    const svg = this.svg;
    svg.replaceChildren();
    const r = 5 / this.scale;
    if (this.showAI) {
      for (const pts of this.ai) {
        const poly = document.createElementNS(NS, 'polygon');
        poly.setAttribute('class', 'ai');
        poly.setAttribute('points', pts.map(p => p.join(',')).join(' '));
        svg.append(poly);
      }
    }
    this.contours.forEach((pts, c) => {
      const poly = document.createElementNS(NS, 'polygon');
      poly.setAttribute('class', 'contour' + (this.selected && this.selected.c === c && this.selected.i === undefined ? ' selected' : ''));
      poly.setAttribute('points', pts.map(p => p.join(',')).join(' '));
      poly.dataset.contour = c;
      // Selecting marks the outline in place: re-rendering would swap the element between the
      // two clicks of a double-click, and the browser would not see a double-click.
      poly.addEventListener('pointerdown', (e) => {
        if (this.mode !== 'edit') return;
        e.stopPropagation();
        this.selected = { c };
        this.svg.querySelectorAll('.selected').forEach(el => el.classList.remove('selected'));
        poly.classList.add('selected');
      });
      poly.addEventListener('dblclick', (e) => { if (this.mode !== 'edit') return; e.stopPropagation(); this.insertPoint(c, this.toImage(e)); });
      svg.append(poly);
    });
    this.contours.forEach((pts, c) => pts.forEach((p, i) => {
      const h = document.createElementNS(NS, 'circle');
      const sel = this.selected && this.selected.c === c && this.selected.i === i;
      h.setAttribute('class', 'handle' + (sel ? ' selected' : ''));
      h.setAttribute('cx', p[0]); h.setAttribute('cy', p[1]); h.setAttribute('r', r);
      h.dataset.contour = c; h.dataset.index = i;
      h.addEventListener('pointerdown', (e) => this.dragPoint(e, c, i));
      svg.append(h);
    }));
  }

  dragPoint(e, c, i) {
    if (this.mode !== 'edit' || e.button !== 0 || !this.editable) return;
    e.stopPropagation();
    e.preventDefault();
    const before = this.snapshot();
    const handle = e.target;
    handle.setPointerCapture(e.pointerId);
    this.selected = { c, i };
    handle.classList.add('selected');
    const polygon = this.svg.querySelector(`polygon.contour[data-contour="${c}"]`);
    const move = (m) => {
      this.contours[c][i] = this.toImage(m);
      handle.setAttribute('cx', this.contours[c][i][0]);
      handle.setAttribute('cy', this.contours[c][i][1]);
      polygon.setAttribute('points', this.contours[c].map(p => p.join(',')).join(' '));
    };
    const up = (u) => {
      move(u);
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      if (JSON.stringify(this.contours) !== before) { this.remember(before); this.changed(); } else this.render();
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  }
}
