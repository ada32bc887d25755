import Bowser from 'bowser';

/** "Chrome 142 on Windows 10" from a User-Agent, for the phone to show who is asking. */
export function describeBrowser(userAgent: string): { browser: string; os: string } {
  if (!userAgent) return { browser: 'Unknown browser', os: 'unknown system' };
  const parsed = Bowser.parse(userAgent);
  const major = parsed.browser.version?.split('.')[0];
  const browser = parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ''}` : 'Unknown browser';
  const os = parsed.os.name ? `${parsed.os.name}${parsed.os.versionName ? ` ${parsed.os.versionName}` : parsed.os.version ? ` ${parsed.os.version}` : ''}` : 'unknown system';
  return { browser, os };
}

/** A phone cannot scan a QR code shown on itself: the sign-in page offers it only elsewhere (tablets included). */
export function isPhone(userAgent: string): boolean {
  return Boolean(userAgent) && Bowser.parse(userAgent).platform.type === 'mobile';
}
