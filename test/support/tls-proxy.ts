import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server.js';

export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const DEPLOY_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/deploy.md');

/** The proxy test needs Debian's nginx. On a laptop without it the test is skipped, loudly; on CI never. */
export function nginxSkipReason(): string | false {
  if (fs.existsSync(NGINX)) return false;
  if (process.env.CI === 'true') throw new Error(`nginx is missing at ${NGINX}; CI must run the proxy test (apt-get install -y nginx).`);
  console.warn(`\n!!! nginx not found at ${NGINX}: the reverse-proxy tests are SKIPPED. Install it with: apt-get install -y nginx\n`);
  return `nginx not installed at ${NGINX}`;
}

export interface Certificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI. */
export function selfSignedCertificate(): Certificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', keyFile, '-out', certFile, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { dir, certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

/** docs/deploy.md's nginx server block, pointed at this test's port, certificate and Sesame. */
export function deployDocServerBlock(options: { port: number; upstreamPort: number; certificate: Certificate }): string {
  const block = /<!-- The block below is the one test\/proxy\.test\.ts runs[^>]*-->\s*```nginx\n([\s\S]*?)```/.exec(fs.readFileSync(DEPLOY_DOC, 'utf8'))?.[1];
  if (!block) throw new Error('docs/deploy.md lost its tested nginx block');
  const replaced = block
    .replace('listen 443 ssl;', `listen 127.0.0.1:${options.port} ssl;`)
    .replace('/etc/letsencrypt/live/id.example.com/fullchain.pem', options.certificate.certFile)
    .replace('/etc/letsencrypt/live/id.example.com/privkey.pem', options.certificate.keyFile)
    .replace('http://127.0.0.1:8080', `http://127.0.0.1:${options.upstreamPort}`);
  for (const left of ['listen 443', 'letsencrypt', ':8080']) if (replaced.includes(left)) throw new Error(`docs/deploy.md's nginx block changed shape (${left})`);
  return replaced;
}

export interface TlsProxy {
  port: number;
  origin: string;
  close(): Promise<void>;
}

/** nginx as a child process (daemon off) with everything it writes inside a temp folder. */
export async function startTlsProxy(options: { port: number; upstreamPort: number; certificate: Certificate }): Promise<TlsProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${deployDocServerBlock(options)}
}
`);
  const child: ChildProcess = spawn(NGINX, ['-c', conf, '-p', dir, '-e', `${dir}/error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}${fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : ''}`);
    if (await canConnect(options.port)) break;
    if (attempt > 100) throw new Error('nginx did not listen within 5 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: options.port,
    origin: `https://localhost:${options.port}`,
    async close() {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

export { freePort };
