import jsQRModule from 'jsqr';

/**
 * Passport's "Scan a code": reads the QR code on the computer's sign-in page with the camera. Only a
 * sign-in request link of this Sesame is followed: a code is an easy way to send a phone somewhere
 * else, and Passport's page must not lend that its trust.
 */

/** The path of a request link of this Sesame (same origin, /<tenant>/x/<id>), or undefined for anything else. */
export function requestLinkPath(text: string, origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.origin !== origin || url.search || url.hash || url.username || url.password) return undefined;
  return /^\/[A-Za-z0-9_-]{1,64}\/x\/[A-Za-z0-9_-]{16,64}$/.test(url.pathname) ? url.pathname : undefined;
}

// jsqr is CommonJS whose export is the function, also as its own `.default` (what NodeNext typing sees).
const jsQR = jsQRModule.default;

type Detect = (video: HTMLVideoElement) => Promise<string | undefined>;

interface BarcodeDetectorLike { detect(source: CanvasImageSource): Promise<Array<{ rawValue: string }>> }
declare const BarcodeDetector: { new (options: { formats: string[] }): BarcodeDetectorLike; getSupportedFormats(): Promise<string[]> } | undefined;

/** The browser's own detector where it reads QR codes (Chrome on Android), else jsQR on a canvas (Safari, Firefox). */
async function qrDetector(): Promise<Detect> {
  if (typeof BarcodeDetector !== 'undefined' && (await BarcodeDetector.getSupportedFormats()).includes('qr_code')) {
    const detector = new BarcodeDetector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video))[0]?.rawValue;
  }
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return undefined;
    context.drawImage(video, 0, 0);
    return jsQR(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height, { inversionAttempts: 'dontInvert' })?.data;
  };
}

/** The camera's refusals, by cause, each with the way on (the link field works without a camera). */
export function explainCamera(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Passport may not use the camera. Allow it in the browser\'s settings for this site, or paste the link shown under the code instead.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found on this device. Paste the link shown under the code instead.';
  if (name === 'NotReadableError') return 'The camera is in use by another app. Close it and try again, or paste the link shown under the code.';
  return (error as Error).message || 'The camera could not be started. Paste the link shown under the code instead.';
}

/** Shows the camera in `video` until a QR code is read; resolves with its text. `stop()` ends it early. */
export async function scanQrCode(video: HTMLVideoElement): Promise<{ text: Promise<string | undefined>; stop: () => void }> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser cannot use the camera here. Paste the link shown under the code instead.');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  video.srcObject = stream;
  await video.play();
  const detect = await qrDetector();
  let stopped = false;
  const stop = () => {
    stopped = true;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const text = (async () => {
    while (!stopped) {
      const found = await detect(video).catch(() => undefined);
      if (found) {
        stop();
        return found;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  })();
  return { text, stop };
}
