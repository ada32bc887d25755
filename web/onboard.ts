import { suggestTenantId, tenantIdProblem } from '../src/tenants/tenant-id.js';
import { showLocalTimes } from './local-time.js';

/**
 * The onboarding form: suggests a tenant id from the organisation's name (until the person types
 * one of their own), checks it as it is typed (format here, availability at /onboard/check), and
 * moves an invitation link's token from the address's fragment into the form.
 */
const form = document.getElementById('onboard-form') as HTMLFormElement | null;
const organisation = document.getElementById('organisation') as HTMLInputElement | null;
const tenantId = document.getElementById('tenant-id') as HTMLInputElement | null;
const message = document.getElementById('tenant-id-check');
const invitation = document.getElementById('invitation') as HTMLInputElement | null;

const fromLink = /(?:^|&)invitation=([A-Za-z0-9_-]{43})(?:&|$)/.exec(window.location.hash.slice(1))?.[1];
if (fromLink && invitation) {
  invitation.value = fromLink;
  history.replaceState(null, '', window.location.pathname);
}
const needed = document.getElementById('invitation-needed');
if (needed && invitation?.value) needed.hidden = true;

let typedByHand = Boolean(tenantId?.value);
let checking: AbortController | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

function say(text: string, kind: 'ok' | 'problem' | 'info'): void {
  if (!message || !tenantId) return;
  message.textContent = text;
  message.className = `field-message ${kind === 'info' ? '' : kind}`;
  if (kind === 'problem') tenantId.setAttribute('aria-invalid', 'true');
  else tenantId.removeAttribute('aria-invalid');
}

function check(): void {
  if (!tenantId) return;
  const id = tenantId.value.trim().toLowerCase();
  clearTimeout(timer);
  checking?.abort();
  if (!id) {
    say('', 'info');
    return;
  }
  const problem = tenantIdProblem(id);
  if (problem) {
    say(problem, 'problem');
    return;
  }
  // Asked once the typing pauses, and only the newest answer counts.
  timer = setTimeout(() => {
    checking = new AbortController();
    fetch(`/onboard/check?id=${encodeURIComponent(id)}`, { signal: checking.signal, headers: { accept: 'application/json' } })
      .then((response) => response.json())
      .then((result: { available: boolean; problem?: string }) => {
        if (result.available) say(`“${id}” is available.`, 'ok');
        else say(result.problem ?? `“${id}” is not available.`, 'problem');
      })
      .catch((error) => {
        if ((error as Error).name !== 'AbortError') say('The tenant id could not be checked just now; it is checked again when you send the form.', 'info');
      });
  }, 350);
}

organisation?.addEventListener('input', () => {
  if (typedByHand || !tenantId) return;
  tenantId.value = suggestTenantId(organisation.value);
  check();
});
tenantId?.addEventListener('input', () => {
  typedByHand = tenantId.value !== '';
  check();
});
if (tenantId?.value) check();
form?.addEventListener('submit', () => form.querySelector('button[type="submit"]')?.setAttribute('aria-busy', 'true'));
showLocalTimes();
