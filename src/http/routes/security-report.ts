// The security report of `kartei doctor` for the web application: administrators
// run the installation, the data-protection officer oversees it. Findings name
// configuration and counts, never personal data, and only the caller's office.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { configFindings, databaseFindings, sortFindings } from '../../ops/security-findings.ts';
import { gated } from '../access.ts';
import { z } from 'zod';
import { finding } from '../../contract/audit.ts';

export function securityReportRoutes(app: FastifyInstance, s: Services) {
  app.get(
    '/api/security-report',
    {
      config: { access: { actions: ['system.security-report'], resource: 'tenant' } },
      schema: { response: { 200: z.array(finding) } },
    },
    async (req) => {
      // On the record first; the checks (the audit chain among them) then run outside the request's transaction.
      const tenantId = await gated(
        s,
        req,
        'system.security-report',
        { kind: 'tenant' },
        async (ctx) => ctx.principal.tenantId,
      );
      // This office's findings; the installation's configuration is everyone's concern.
      return sortFindings([...configFindings(s.config), ...(await databaseFindings(s, tenantId))]);
    },
  );
}
