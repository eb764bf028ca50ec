// The direction of Kartei's dependencies, checked by `npm run check:deps` (part of `npm test`).
//
//   adapters   src/http, src/cli, src/ops, src/imaging/dimse, src/demis/connection, the DICOMweb codec folder(s) under src/imaging
//      ↓       (and the composition root, the top-level files of src/ other than errors.ts and field-issues.ts)
//   domain     src/records, src/identity, src/infection, src/desk, the files directly in src/imaging, the audit's domain parts
//      ↓       (audit-query, access-report*, access-narrative, narrative-text)
//   core       src/access, the rest of src/audit (the chain, the log, verification)
//      ↓
//   platform   src/db, src/vault, src/config, src/errors.ts, src/field-issues.ts
//      ↓
//   codecs     src/imaging/dicom, src/contract, src/demis/codec (pure; used by every layer and by the web application)
//
// A module may import from its own layer and the layers below it, never from one above.
// Rules match folders rather than single files, so renames inside a layer need no change here.

const ADAPTERS = [
  '^src/(http|cli|ops)/',
  '^src/imaging/dimse/',
  // Sub-folders of src/imaging other than the codec and the DIMSE server hold DICOMweb's codecs
  // (DICOM JSON, multipart, QIDO parsing, rendering): used by the HTTP adapter only.
  '^src/imaging/(?!dicom/|dimse/)[^/]+/',
  // The DEMIS connection: token endpoint, mutual TLS, the clearing API, the poller.
  '^src/demis/connection/',
];
// The composition root: the top-level files of src/ (services.ts, server.ts) or a src/server/ folder.
const ROOT = ['^src/(?!errors\\.ts$|field-issues\\.ts$)[^/]+\\.ts$', '^src/server/'];
const AUDIT_DOMAIN = '^src/audit/(audit-query|access-[^/]+|narrative-text)\\.ts$';
const DOMAIN = ['^src/(records|identity|infection|desk)/', '^src/imaging/[^/]+\\.ts$', AUDIT_DOMAIN];
const CORE = ['^src/access/', '^src/audit/'];
const PLATFORM = ['^src/(db|vault|config)/', '^src/(errors|field-issues)\\.ts$'];
const CODECS = ['^src/imaging/dicom/', '^src/contract/', '^src/demis/codec/'];

// What the web application may import from the server's tree: the contract, and modules free of
// Node code whose logic the browser must share with the server (each checked below to stay so).
const BROWSER_SAFE = [
  '^src/contract/',
  '^src/access/policy\\.ts$', // TOKEN_SCOPES for the token form
  '^src/audit/narrative-text\\.ts$', // the access report's words
  '^src/identity/password-strength\\.ts$', // the server's strength estimator, in the meter
  '^src/imaging/dicom/frame-decoders\\.ts$', // RLE and JPEG Lossless, in the viewer
  '^src/records/reason-text\\.ts$', // what counts as a real reason
  '^src/demis/codec/code-systems\\.ts$', // Issue 16: inbox — the DEMIS code lists' German names, for the disease filter
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module depends on itself through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-not-to-adapters',
      severity: 'error',
      comment:
        'Domain modules import no adapter (no HTTP answer types, no DIMSE, no CLI) and not the composition root.',
      from: { path: DOMAIN },
      to: { path: [...ADAPTERS, ...ROOT] },
    },
    {
      name: 'core-not-up',
      severity: 'error',
      comment: 'The gate and the audit log import no domain module, adapter or the composition root.',
      from: { path: CORE, pathNot: AUDIT_DOMAIN },
      to: { path: [...ADAPTERS, ...ROOT, ...DOMAIN] },
    },
    {
      name: 'platform-not-up',
      severity: 'error',
      comment: 'db, vault, config and the error catalogue import nothing above them.',
      from: { path: PLATFORM },
      to: { path: [...ADAPTERS, ...ROOT, ...DOMAIN, ...CORE] },
    },
    {
      name: 'migrations-not-to-audit',
      severity: 'error',
      comment: 'A migration is frozen: it imports nothing from src/audit (values it needs are written into it).',
      from: { path: '^src/db/migrat' },
      to: { path: '^src/audit/' },
    },
    {
      name: 'codecs-pure',
      severity: 'error',
      comment: 'The DICOM codec and the API contract import only from their own layer and packages.',
      from: { path: CODECS },
      to: { path: [...ADAPTERS, ...ROOT, ...DOMAIN, ...CORE, ...PLATFORM] },
    },
    {
      name: 'contract-only-zod',
      severity: 'error',
      comment: 'src/contract imports no Node module and nothing but zod and itself: the browser imports it.',
      from: { path: '^src/contract/' },
      to: { pathNot: ['^src/contract/', '(^|/)node_modules/zod/'] },
    },
    {
      name: 'http-not-to-dimse',
      severity: 'error',
      comment:
        'The HTTP adapter (DICOMweb routes included) imports nothing from the DIMSE server: shared steps live in the use cases.',
      from: { path: '^src/http/' },
      to: { path: '^src/imaging/dimse/' },
    },
    {
      name: 'dimse-not-to-http',
      severity: 'error',
      comment: 'The DIMSE server imports nothing from the HTTP adapter.',
      from: { path: '^src/imaging/dimse/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'web-only-browser-safe',
      severity: 'error',
      comment: 'The web application imports from src/ only the contract and the browser-safe modules listed here.',
      from: { path: '^web/src/' },
      to: { path: '^src/', pathNot: BROWSER_SAFE },
    },
    {
      name: 'browser-no-node',
      severity: 'error',
      comment: 'Nothing the web application reaches, directly or through src/, imports a Node built-in.',
      from: { path: '^web/src/' },
      // Built-in modules resolve to their bare name (`fs`, `node:fs/promises`), packages to node_modules paths.
      to: { path: '^(node:)?[a-z_]+(/promises)?$', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^web/dist/', '^node_modules/'] },
    // Type-only imports count: a domain module importing an HTTP answer type depends on HTTP.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
