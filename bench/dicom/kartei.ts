// Kartei's side of the DICOM benchmark: a fresh installation (test harness: its own data and
// key directories, SQLite unless KARTEI_TEST_PG is set), one tenant with one department, the
// bench AE registered as a device allowed to store (by loopback host, or by its pinned
// certificate over TLS), and the DIMSE listener in this process. Encryption at rest and the
// audit log are always on in Kartei.
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startDimseListener } from '../../src/imaging/dimse/listener.ts';
import { releaseEstimator } from '../../src/identity/password-estimator.ts';
import {
  startHarness,
  setUpTenant,
  freePort,
  DIALECT,
  type Harness,
  type Installation,
} from '../../test/helpers/harness.ts';
import { testCa, testCertificate, type TestCert } from '../../test/helpers/certificates.ts';
import type { DicomTarget } from './dcmtk.ts';

export { DIALECT };

export interface BenchTls {
  /** The CA that signs server and client certificates. */
  caFile: string;
  /** The servers' certificate (CN/SAN localhost, 127.0.0.1), used by Kartei and Orthanc alike. */
  server: TestCert;
  /** The bench AE's client certificate, presented by storescu/echoscu to both. */
  client: TestCert;
}

let tlsMaterial: BenchTls | undefined;
/** Throwaway CA, server and client certificates (P-256), made once per process. */
export function benchTls(): BenchTls {
  tlsMaterial ??= {
    caFile: testCa().certFile,
    server: testCertificate('localhost'),
    client: testCertificate('KARTEIBENCH'),
  };
  return tlsMaterial;
}

/** The client side of TLS for the DCMTK drivers: our certificate and key, and the CA to trust. */
export const clientTls = (t: BenchTls) => ({ cert: t.client.certFile, key: t.client.keyFile, ca: t.caFile });

export interface KarteiDicom {
  h: Harness;
  tenantId: string;
  target: DicomTarget;
  countInstances(): Promise<number>;
  close(): Promise<void>;
}

interface KarteiDicomOptions {
  callingAet: string;
  aeTitle?: string;
  /** true for this process's bench certificates, or the certificates to use (from another process). */
  tls?: boolean | BenchTls;
}

/** An installation set up for the bench, left on disk for another process to serve. */
export interface KarteiSetUp {
  installation: Installation;
  tenantId: string;
}

const tlsOf = (opts: KarteiDicomOptions) => (opts.tls === true ? benchTls() : opts.tls || undefined);

/** The tenant with its department RAD, and the bench AE registered in it as a device allowed to store. */
async function setUpBench(h: Harness, opts: KarteiDicomOptions): Promise<string> {
  const t = await setUpTenant(h, ['RAD']);
  const tls = tlsOf(opts);
  const device = {
    aeTitle: opts.callingAet,
    departmentId: t.departments.RAD,
    permissions: ['store'],
    ...(tls ? { certificate: tls.client.cert } : { host: '127.0.0.1' }),
  };
  const r = await t.admin.post('/api/admin/devices', device);
  if (r.status !== 201) throw new Error(`registering the bench device: ${r.status} ${JSON.stringify(r.body)}`);
  return t.tenantId;
}

/** Sets an installation up and stops, leaving it for `startKarteiDicom({ reopen })`. */
export async function setUpKarteiDicom(opts: KarteiDicomOptions): Promise<KarteiSetUp> {
  const h = await startHarness();
  try {
    const tenantId = await setUpBench(h, opts);
    await h.stop();
    return { installation: h.installation, tenantId };
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** A fresh installation serving DICOM, or with `reopen` one set up before (by another process). */
export async function startKarteiDicom(opts: KarteiDicomOptions & { reopen?: KarteiSetUp }): Promise<KarteiDicom> {
  const aeTitle = opts.aeTitle ?? 'KARTEI';
  const h = await startHarness(opts.reopen ? { reopen: opts.reopen.installation } : {});
  let listener: { port: number; close(): Promise<void> } | undefined;
  try {
    const tenantId = opts.reopen?.tenantId ?? (await setUpBench(h, opts));
    // Measured as a server runs once its accounts are set up: the password checker's dictionaries let go (bench/server.ts).
    releaseEstimator();
    const tls = tlsOf(opts);
    listener = await startDimseListener(
      {
        host: '127.0.0.1',
        port: await freePort(),
        aeTitle,
        ...(tls ? { tls: { certFile: tls.server.certFile, keyFile: tls.server.keyFile, caFile: tls.caFile } } : {}),
      },
      { deps: h.dimseDeps },
    );
    const l = listener;
    return {
      h,
      tenantId,
      target: {
        host: '127.0.0.1',
        port: l.port,
        calledAet: aeTitle,
        callingAet: opts.callingAet,
        ...(tls ? { tls: clientTls(tls) } : {}),
      },
      countInstances: () =>
        inTenantTransaction(h.services.store, tenantId, async (tx) =>
          Number(
            (
              await tx
                .selectFrom('instances')
                .select((eb) => eb.fn.countAll().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          ),
        ),
      async close() {
        await l.close();
        await h.close();
      },
    };
  } catch (e) {
    await listener?.close();
    await h.close();
    throw e;
  }
}
