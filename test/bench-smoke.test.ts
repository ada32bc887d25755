import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The benchmark still runs end to end (a few seconds, --smoke) and reports every figure. Only that
 * it completes and what it reports are checked: timings on a shared machine prove nothing.
 */
test('the benchmark completes and reports every figure', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  const out = path.join(dir, 'result.json');
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/signin.ts', '--smoke', '--out', out], {
      env: { ...process.env, BENCH_CPU_PROF: '' },
      timeout: 110_000,
    });
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    const lastLine = stdout.trim().split('\n').at(-1)!;
    for (const field of ['ratio', 'oidc_ratio', 'signins_per_s', 'p99_ms', 'rss_mb', 'idle_rss_mb']) {
      assert.equal(typeof report.summary[field], 'number', `summary.${field}`);
      assert.ok(Number.isFinite(report.summary[field]) && report.summary[field] > 0, `summary.${field} = ${report.summary[field]}`);
      assert.match(lastLine, new RegExp(`(^| )${field}=${report.summary[field]}( |$)`));
    }
    for (const field of ['assertionMs', 'idTokenMs', 'totalMs']) assert.ok(report.cryptoFloor[field] > 0, `cryptoFloor.${field}`);
    assert.ok(report.storageOidcRatio > 0, 'storageOidcRatio');
    for (const target of ['bareOidc', 'bareOidcSqlite', 'sqlite']) {
      const t = report[target];
      for (const field of ['readyMs', 'idleRssMb', 'loadRssMb']) assert.ok(t[field] > 0, `${target}.${field}`);
      for (const phase of ['saturation', 'openLoop']) {
        for (const field of ['completed', 'signinsPerS', 'p50Ms', 'p90Ms', 'p99Ms', 'cpuMsPerSignIn']) assert.ok(t[phase][field] > 0, `${target}.${phase}.${field}`);
        assert.equal(t[phase].failures, 0, `${target}.${phase} had failed sign-ins`);
      }
      assert.ok(t.sequential.signInMs > 0 && t.sequential.requests.length >= 4, `${target}.sequential`);
    }
    assert.ok(report.sqlite.sqlPerSignIn > 0 && report.sqlite.topSql.length > 0, 'SQL statements per sign-in');
    assert.ok(report.sqlite.sequential.requests.some((r: { request: string }) => r.request.endsWith('/signin/verify')), 'the passkey request is timed');
    for (const field of ['smallUsers', 'bigUsers', 'seedSeconds', 'smallSignInMs', 'bigSignInMs', 'differenceMs']) {
      assert.equal(typeof report.sqlite.bigDatabase[field], 'number', `bigDatabase.${field}`);
    }
    assert.ok(report.sqlite.bigDatabase.bigUsers > report.sqlite.bigDatabase.smallUsers);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
