import Bowser from 'bowser';

/**
 * Parsed User-Agents by their text. A sign-in parses its browser's User-Agent more than once (the
 * page, the security notice), and most requests come from a few hundred distinct browsers: Bowser's
 * regular expressions were about 1 % of a sign-in's CPU. Emptied when full, so any text costs one
 * parse and the map stays small (at most 1,000 texts of 512 characters) whatever clients send.
 */
const parsedAgents = new Map<string, Bowser.Parser.ParsedResult>();
const PARSED_AGENTS_MAX = 1_000;
/** Real browsers' User-Agents are about 100–250 characters; longer ones are parsed but not kept. */
const PARSED_AGENT_LENGTH_MAX = 512;

function parse(userAgent: string): Bowser.Parser.ParsedResult {
  let parsed = parsedAgents.get(userAgent);
  if (!parsed) {
    parsed = Bowser.parse(userAgent);
    if (userAgent.length > PARSED_AGENT_LENGTH_MAX) return parsed;
    if (parsedAgents.size >= PARSED_AGENTS_MAX) parsedAgents.clear();
    parsedAgents.set(userAgent, parsed);
  }
  return parsed;
}

/** "Chrome 142 on Windows 10" from a User-Agent, for the phone to show who is asking. */
export function describeBrowser(userAgent: string): { browser: string; os: string } {
  if (!userAgent) return { browser: 'Unknown browser', os: 'unknown system' };
  const parsed = parse(userAgent);
  const major = parsed.browser.version?.split('.')[0];
  const browser = parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ''}` : 'Unknown browser';
  const os = parsed.os.name ? `${parsed.os.name}${parsed.os.versionName ? ` ${parsed.os.versionName}` : parsed.os.version ? ` ${parsed.os.version}` : ''}` : 'unknown system';
  return { browser, os };
}

/** A phone cannot scan a QR code shown on itself: the sign-in page offers it only elsewhere (tablets included). */
export function isPhone(userAgent: string): boolean {
  return Boolean(userAgent) && parse(userAgent).platform.type === 'mobile';
}
