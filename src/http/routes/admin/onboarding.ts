import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { email } from '../../schemas.js';
import { SesameError } from '../../../errors.js';
import { OPERATOR_SCOPE } from '../../../admin/admin-repository.js';
import { formAction, renderConsole } from './console.js';

const organisation = z.string().trim()
  .min(1, 'Give your organisation\'s name.')
  .max(100, 'An organisation name has at most 100 characters.')
  .refine((name) => !/\p{Cc}/u.test(name), 'An organisation name cannot contain line breaks or control characters.')
  .transform((name) => name.normalize('NFC'));
const tenantId = z.string().trim().toLowerCase().min(1, 'Choose a tenant id.').max(40, 'A tenant id has at most 40 characters.');
const invitation = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'This invitation link is not complete. Open it again from the mail.').optional()
  .or(z.literal('').transform(() => undefined));
const applicationForm = z.object({ organisation, tenantId, email, invitation });
const checkQuery = z.object({ id: z.string().max(100) });

type OnboardingDeps = Pick<Services, 'onboarding' | 'audit' | 'config'>;

interface FormValues { organisation: string; tenantId: string; email: string; invitation: string }

/**
 * PUBLIC_URL/onboard (ONBOARDING=open|invite; with off it does not exist): an organisation applies
 * for a tenant. The tenant id is checked as it is typed (/onboard/check), and again when sent.
 */
export function onboardingRoutes(deps: OnboardingDeps): Router {
  const router = new Router();
  const { onboarding } = deps;

  const showForm = (ctx: Context, values: FormValues, error?: string, invalid?: string) => renderConsole(ctx, 'onboard', {
    title: 'Set up your organisation', script: 'onboard', mode: onboarding.mode, publicUrl: deps.config.publicUrl, values, error, invalid,
  });

  router.get('/onboard', async (ctx) => {
    onboarding.requireOpen();
    showForm(ctx, { organisation: '', tenantId: '', email: '', invitation: '' });
  });

  router.get('/onboard/check', async (ctx) => {
    onboarding.requireOpen();
    const { id } = parseInput(checkQuery, ctx.query);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await onboarding.checkTenantId(id.trim().toLowerCase());
  });

  router.post('/onboard', async (ctx) => {
    onboarding.requireOpen();
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    const values: FormValues = {
      organisation: typeof raw.organisation === 'string' ? raw.organisation.slice(0, 200) : '',
      tenantId: typeof raw.tenantId === 'string' ? raw.tenantId.slice(0, 100) : '',
      email: typeof raw.email === 'string' ? raw.email.slice(0, 300) : '',
      invitation: typeof raw.invitation === 'string' ? raw.invitation.slice(0, 100) : '',
    };
    let invalid: string | undefined;
    await formAction(ctx, async () => {
      const parsed = applicationForm.safeParse(raw);
      if (!parsed.success) invalid = String(parsed.error.issues[0]?.path[0] ?? '');
      const form = parseInput(applicationForm, raw);
      let expiresAt: number;
      try {
        ({ expiresAt } = await onboarding.apply({ organisation: form.organisation, tenantId: form.tenantId, email: form.email, invitation: form.invitation, ip: ctx.ip }));
      } catch (error) {
        if (error instanceof SesameError && (error.code === 'tenant_id_unavailable' || error.code === 'invalid_tenant_id')) invalid = 'tenantId';
        throw error;
      }
      // Under the operator's scope: the id may end up another organisation's, whose log must not show this applicant.
      await deps.audit.record({ type: 'onboarding.requested', tenantId: OPERATOR_SCOPE, email: form.email, detail: { tenantId: form.tenantId, organisation: form.organisation, invited: Boolean(form.invitation) } });
      const iso = new Date(expiresAt).toISOString();
      renderConsole(ctx, 'onboard-sent', {
        title: 'Check your mail', email: form.email, organisation: form.organisation, tenantId: form.tenantId,
        expiresAt: iso, expiresAtUtc: `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`,
      });
    }, async (error) => showForm(ctx, values, error, invalid));
  });

  return router;
}
