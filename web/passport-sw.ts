/// <reference lib="webworker" />
/**
 * Passport's service worker: shows a notification for each push (whose encrypted payload carries
 * only the request id) and opens the approval page when it is tapped.
 */
declare const self: ServiceWorkerGlobalScope;

const tenant = self.location.pathname.split('/')[1];

self.addEventListener('install', () => { void self.skipWaiting(); });
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener('push', (event) => {
  let requestId = '';
  try {
    requestId = String(event.data?.json()?.requestId ?? '');
  } catch {
    return;
  }
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(requestId)) return;
  event.waitUntil(self.registration.showNotification('Sign-in request', {
    body: 'Someone is signing in with your account. Tap to check the number and approve or deny.',
    tag: requestId,
    requireInteraction: true,
    data: { url: `/${tenant}/x/${requestId}` },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
