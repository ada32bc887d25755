// Bundles the browser code in web/ into public/build/ (served under /static/build/).
import { build } from 'esbuild';

await build({
  entryPoints: ['web/signin.ts', 'web/account.ts', 'web/recovery.ts', 'web/invitation.ts', 'web/approve.ts', 'web/passport.ts', 'web/passport-sw.ts', 'web/admin.ts', 'web/onboard.ts'],
  outdir: 'public/build',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  logLevel: 'warning',
});
