// The live timeline of one transaction: each step's state, attempts, retries and error, the
// compensations in the order they ran, and every event. It is fed by three sources that say the
// same things in slightly different words: the journal (after a reload), the coordinator's
// lifecycle events (live), and the final result (authoritative).

const $ = (selector) => document.querySelector(selector);

export class Timeline {
  constructor(stepNames) {
    this.stepNames = stepNames;
    this.reset(null);
  }

  reset(transactionId, note = '') {
    this.transactionId = transactionId;
    this.status = transactionId ? 'running' : 'idle';
    this.note = note;
    this.steps = new Map(this.stepNames.map((name) => [name, {
      name, state: 'pending', attempts: 0, retried: new Set(), error: null, compensation: null,
    }]));
    this.compensations = []; // step names, in the order their compensation started
    this.events = [];
    this.render();
  }

  /** A journal record (`{ kind, step?, attempt?, status?, error?, at }`), replayed after a reload. */
  applyRecord(record) {
    if (record.kind === 'transaction.finished') {
      this.apply({ type: `transaction.${record.status}`, timestamp: record.at }, 'journal');
    } else {
      this.apply({ type: record.kind, step: record.step, attempt: record.attempt, error: record.error, timestamp: record.at }, 'journal');
    }
  }

  /** A lifecycle event from the coordinator (or a journal record in the same shape). */
  apply(event, source = 'live') {
    const step = event.step === undefined ? undefined : this.steps.get(event.step);
    switch (event.type) {
      case 'transaction.started':
        this.status = 'running';
        break;
      case 'step.started':
        step.state = 'running';
        step.attempts = Math.max(step.attempts, event.attempt ?? 1);
        // (The journal has no retrying record: attempt n > 1 says attempt n - 1 was retried.)
        if (event.attempt > 1) step.retried.add(event.attempt - 1);
        break;
      case 'step.retrying':
        step.state = 'retrying';
        step.retried.add(event.attempt);
        step.error = event.error ?? step.error;
        break;
      case 'step.succeeded':
        step.state = 'succeeded';
        step.error = null;
        break;
      case 'step.failed':
        step.state = 'failed';
        step.error = event.error ?? null;
        break;
      case 'compensation.started':
        step.compensation = 'compensating';
        if (!this.compensations.includes(step.name)) this.compensations.push(step.name);
        break;
      case 'compensation.succeeded':
        step.compensation = 'compensated';
        break;
      case 'compensation.failed':
        step.compensation = 'compensation failed';
        step.error = event.error ?? step.error;
        break;
      case 'transaction.committed':
      case 'transaction.compensated':
      case 'transaction.compensation_failed':
        this.status = event.type.slice('transaction.'.length);
        break;
      case 'progress':
        return; // the step rows say it already
      default:
        break;
    }
    this.events.push({ event, source });
    this.render();
  }

  /** Whether this page ran a step or a compensation (live events), rather than only read the journal. */
  ranSomething() {
    return this.events.some(({ event, source }) => source === 'live' && !event.type.startsWith('transaction.'));
  }

  /** The result of `executeHttpTransaction`: the final word on every step. */
  finish(result) {
    this.status = result.status;
    for (const report of result.steps) {
      const step = this.steps.get(report.name);
      if (report.status !== 'pending') step.state = report.status;
      step.attempts = report.attempts;
      step.error = report.error ?? (report.compensation?.error ?? null);
      if (report.compensation && report.compensation.status !== 'skipped') {
        step.compensation = report.compensation.status === 'compensated' ? 'compensated' : 'compensation failed';
      }
    }
    // The order compensation ran in, from the report's own clock (a tab that only waited for
    // another one to finish has no live events).
    const ran = result.steps
      .filter((s) => s.compensation?.startedAt != null)
      .sort((a, b) => a.compensation.startedAt - b.compensation.startedAt)
      .map((s) => s.name);
    if (ran.length > 0) this.compensations = ran;
    if (result.error) this.note = `${this.note ? `${this.note} · ` : ''}${result.error.name}: ${result.error.message}`;
    this.render();
  }

  render() {
    $('#tx-id').textContent = this.transactionId ?? '—';
    const status = $('#tx-status');
    status.dataset.status = this.status;
    status.textContent = this.status.replace('_', ' ');
    $('#tx-note').textContent = this.note;

    $('#steps').replaceChildren(...[...this.steps.values()].map((step) => {
      const li = element('li', { class: 'step', 'data-step': step.name, 'data-state': step.state });
      li.append(
        element('span', { class: 'name' }, step.name),
        element('span', { class: 'state' }, step.state),
        element('span', { class: 'attempts' }, step.attempts ? `attempt ${step.attempts}` : ''),
        element('span', { class: 'retries', 'data-retries': step.retried.size }, step.retried.size ? `${step.retried.size} retr${step.retried.size > 1 ? 'ies' : 'y'}` : ''),
      );
      if (step.compensation) li.append(element('span', { class: 'compensation', 'data-compensation': step.compensation }, step.compensation));
      if (step.error) li.append(element('div', { class: 'error' }, `${step.error.name}: ${step.error.message}`));
      return li;
    }));

    $('#compensations').replaceChildren(...this.compensations.map((name) =>
      element('li', { 'data-step': name, 'data-state': this.steps.get(name).compensation }, `${name} — ${this.steps.get(name).compensation}`)));

    const t0 = this.events[0]?.event.timestamp ?? 0;
    $('#events').replaceChildren(...this.events.map(({ event, source }) => {
      const parts = [`+${Math.round((event.timestamp ?? t0) - t0)} ms`, event.type];
      if (event.step) parts.push(event.step);
      if (event.attempt) parts.push(`attempt ${event.attempt}`);
      if (event.delayMs !== undefined) parts.push(`next in ${Math.round(event.delayMs)} ms`);
      if (event.error) parts.push(`${event.error.name}: ${event.error.message}`);
      if (source === 'journal') parts.push('(journal)');
      return element('li', { 'data-type': event.type, class: source }, parts.join('  '));
    }));
  }
}

export function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
