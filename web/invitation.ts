import { guard, post, show } from './page.js';

/**
 * The invitation page: its token is in the URL's fragment (never sent in a URL, never in a log);
 * accepting posts it, and the server keeps it in a cookie for the sign-up page of this tenant.
 */
document.getElementById('invitation-accept')?.addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  guard(button, async () => {
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
    const { message } = await post<{ message: string }>('', { token });
    // Kept in the cookie now: the token leaves the address bar and the history (a shared computer, a screenshot).
    history.replaceState(null, '', window.location.pathname + window.location.search);
    button.hidden = true;
    show(message);
  });
});
