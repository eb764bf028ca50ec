// How the inbox's sealed columns are sealed and opened: the raw bundle and its parsed facts of each
// notification version, a quarantined bundle and its problems, reasons — all with the department key,
// each bound to its table, row and field (moved to another row, a blob does not open).
import type { GateContext } from '../access/gate.ts';
import type { BundleProblem, ParsedNotification } from '../demis/codec/notification.ts';
import { bindingBytes, open, seal } from '../vault/aead.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';

type SealedField = 'bundle' | 'parsed' | 'problems' | 'reason';

const binding = (tenantId: string, table: string, rowId: string, field: SealedField) => ({
  tenantId,
  table,
  rowId,
  field,
});

/** The sealing of one department's inbox rows, for the department the gate decided on. */
export class InboxSeal {
  private readonly key: Buffer;
  private readonly tenantId: string;
  private constructor(key: Buffer, tenantId: string) {
    this.key = key;
    this.tenantId = tenantId;
  }

  static async of(ctx: GateContext, keyring: Keyring, departmentId: string): Promise<InboxSeal> {
    const tenantId = ctx.principal.tenantId;
    return new InboxSeal(await keyring.departmentKey(ctx.tx, tenantId, departmentId), tenantId);
  }

  /** A version's raw bundle, byte for byte. */
  bundle(table: 'demis_notification_versions' | 'demis_quarantine', rowId: string, raw: Uint8Array): Buffer {
    return seal(this.key, Buffer.from(raw), bindingBytes(binding(this.tenantId, table, rowId, 'bundle')));
  }

  openBundle(table: 'demis_notification_versions' | 'demis_quarantine', rowId: string, blob: Buffer): Buffer {
    return open(this.key, blob, bindingBytes(binding(this.tenantId, table, rowId, 'bundle')));
  }

  parsed(rowId: string, n: ParsedNotification): Buffer {
    return sealField(this.key, binding(this.tenantId, 'demis_notification_versions', rowId, 'parsed'), n);
  }

  openParsed(rowId: string, blob: Buffer): ParsedNotification {
    return openField<ParsedNotification>(
      this.key,
      binding(this.tenantId, 'demis_notification_versions', rowId, 'parsed'),
      blob,
    );
  }

  problems(rowId: string, p: BundleProblem[]): Buffer {
    return sealField(this.key, binding(this.tenantId, 'demis_quarantine', rowId, 'problems'), p);
  }

  openProblems(rowId: string, blob: Buffer): BundleProblem[] {
    return openField<BundleProblem[]>(this.key, binding(this.tenantId, 'demis_quarantine', rowId, 'problems'), blob);
  }

  reason(table: 'demis_notifications' | 'demis_quarantine', rowId: string, text: string): Buffer {
    return sealField(this.key, binding(this.tenantId, table, rowId, 'reason'), text);
  }

  openReason(table: 'demis_notifications' | 'demis_quarantine', rowId: string, blob: Buffer): string {
    return openField<string>(this.key, binding(this.tenantId, table, rowId, 'reason'), blob);
  }
}

/** A version row's id in its bindings. */
export const versionRowId = (notificationRowId: string, version: number) => `${notificationRowId}:${version}`;
