// The self-exam page's one behaviour: the print button (inline handlers are blocked by the CSP).
document.getElementById('print')?.addEventListener('click', () => window.print());
