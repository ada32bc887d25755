/**
 * `npx tsx bench/profile-top.ts <file.cpuprofile> [count]`: where a server process spent its CPU,
 * from a profile written with BENCH_CPU_PROF — self time by function and by package (a
 * node_modules package, Sesame's own src/ folder, or Node's internals), largest first.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [file, countArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/profile-top.ts <file.cpuprofile> [count]');
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const count = Number(countArg ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

// Servers run bundled (one file, with a source map beside it): each frame is named by the source
// file it was bundled from, so that time is counted by package and by Sesame's folders.
const sourceMaps = new Map<string, SourceMap | undefined>();
function original(frame: ProfileNode['callFrame']): { url: string; lineNumber: number } {
  if (!frame.url.startsWith('file://') || !frame.url.endsWith('.mjs')) return frame;
  if (!sourceMaps.has(frame.url)) {
    const mapFile = `${fileURLToPath(frame.url)}.map`;
    sourceMaps.set(frame.url, fs.existsSync(mapFile) ? new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8'))) : undefined);
  }
  const entry = sourceMaps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (!entry?.originalSource) return frame;
  const source = entry.originalSource.replace(/^(\.\.\/)+/, '');
  return { url: source.startsWith('file://') ? source : `file://${process.cwd()}/${source}`, lineNumber: entry.originalLine ?? 0 };
}
for (const node of profile.nodes) Object.assign(node.callFrame, original(node.callFrame));
const relative = (url: string) => url.replace(`file://${process.cwd()}/`, '');
const where = (url: string) => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const own = /^(src|sdk|bench)\/([^/]+)/.exec(relative(url));
  if (own) return `${own[1]}/${own[2]}`;
  return url.startsWith('node:') ? 'node internals' : url === '' ? '(native / gc)' : url;
};
// Waiting for I/O is not work: percentages are of the time the thread was busy.
const idleUs = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((sum, [, us]) => sum + us, 0);
for (const [id] of selfUs) if (byId.get(id)!.callFrame.functionName === '(idle)') selfUs.delete(id);
const busyUs = totalUs - idleUs;
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const key = `${functionName || '(anonymous)'} ${url ? `${relative(url).replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byPackage.set(where(url), (byPackage.get(where(url)) ?? 0) + us);
}
const top = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count)
  .map(([name, us]) => ({ name, 'self ms': Math.round(us / 1000), '% of busy': Number(((100 * us) / busyUs).toFixed(1)) }));
console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy (${(idleUs / 1e6).toFixed(1)} s idle)`);
console.table(top(byPackage));
console.table(top(byFunction));
