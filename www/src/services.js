// The services' own state (GET /api/_state), as they see it: what is in stock, held, charged,
// ordered. Refreshed whenever a notification says something changed.

import { element } from './timeline.js';

export async function renderServices(api) {
  const res = await fetch(`${api}/_state`);
  const state = await res.json();
  const rows = [
    ['stock', Object.entries(state.stock).map(([sku, n]) => `${sku.replace('sku-', '')} ${n}`).join(' · ')],
    ['reservations', state.reservations.map((r) => `${r.id} ${r.status}`).join(' · ') || '—'],
    ['payments', state.payments.map((p) => `${p.id} ${p.status} €${p.amount}`).join(' · ') || '—'],
    ['orders', state.orders.map((o) => `${o.id} ${o.status}`).join(' · ') || '—'],
  ];
  document.querySelector('#services').replaceChildren(element('dl', {}, undefined));
  const dl = document.querySelector('#services dl');
  for (const [name, text] of rows) dl.append(element('dt', {}, name), element('dd', { 'data-service': name }, text));
  return state;
}
