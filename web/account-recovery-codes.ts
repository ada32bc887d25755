import { guard, post } from './page.js';

/** Recovery codes on the account page: made on request, shown once, never again readable. */
const create = document.getElementById('recovery-codes-create') as HTMLButtonElement | null;
create?.addEventListener('click', () => {
  guard(create, async () => {
    const { codes } = await post<{ codes: string[] }>('/recovery-codes', {});
    const list = document.getElementById('recovery-codes-list')!;
    list.replaceChildren(...codes.map((code) => Object.assign(document.createElement('li'), { textContent: code })));
    document.getElementById('recovery-codes-status')!.textContent = `${codes.length} of ${codes.length} codes left (made today).`;
    create.textContent = 'Replace my recovery codes';
    document.getElementById('recovery-codes-new')!.hidden = false;
    list.focus();
  });
});
