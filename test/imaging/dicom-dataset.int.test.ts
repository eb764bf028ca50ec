// Small datasets written and read whole, Part 10 headers that dcmdump accepts
// and that we parse back, text in the character sets of (0008,0005), and the
// UID syntax.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeDataset, type WriteElement } from '../../src/imaging/dicom/dataset-writer.ts';
import { readDataset } from '../../src/imaging/dicom/dataset-reader.ts';
import { DatasetError } from '../../src/imaging/dicom/element-header.ts';
import { parsePart10Header, part10Header } from '../../src/imaging/dicom/part10.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { parsePersonName, textDecoder } from '../../src/imaging/dicom/text.ts';
import { textValue, type Dataset } from '../../src/imaging/dicom/values.ts';
import { isValidUid, StorageSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { IMPLEMENTATION_CLASS_UID, makeInstance, newUid } from '../helpers/dicom-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-dataset-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const query: WriteElement[] = [
  { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'SERIES' },
  { tag: Tag.PatientName, vr: 'PN', value: 'Groß^Jürgen=山田^太郎' },
  { tag: Tag.PatientId, vr: 'LO', value: null },
  { tag: Tag.ModalitiesInStudy, vr: 'CS', value: ['CT', 'MR'] },
  { tag: Tag.StudyInstanceUid, vr: 'UI', value: '1.2.3.45' },
  { tag: Tag.SeriesNumber, vr: 'IS', value: 12 },
  { tag: Tag.WindowCenter, vr: 'DS', value: [0.1 + 0.2, -1e-7, 123456789.12345679] },
  { tag: Tag.Rows, vr: 'US', value: 512 },
  { tag: 0x00181310, vr: 'US', value: [0, 512, 512, 0] },
  { tag: 0x00200032, vr: 'DS', value: '-125\\-125\\10.5' },
  { tag: 0x00540081, vr: 'US', value: 7 },
  { tag: 0x00189219, vr: 'SL', value: -5 },
  { tag: 0x00189220, vr: 'FD', value: [1.5, -2.25] },
  { tag: 0x00209165, vr: 'AT', value: 0x00100020 },
  {
    tag: Tag.OtherPatientIdsSequence,
    vr: 'SQ',
    value: [
      [
        { tag: Tag.PatientId, vr: 'LO', value: 'ALT-1' },
        { tag: Tag.IssuerOfPatientId, vr: 'LO', value: 'Gesundheitsamt Köln' },
      ],
      [],
      [
        {
          tag: Tag.ReferencedImageSequence,
          vr: 'SQ',
          value: [[{ tag: Tag.ReferencedSopInstanceUid, vr: 'UI', value: '1.2.3' }]],
        },
      ],
    ],
  },
];

function checkQuery(ds: Dataset, how: string) {
  assert.equal(textValue(ds, Tag.SpecificCharacterSet), 'ISO_IR 192', how);
  assert.equal(textValue(ds, Tag.PatientName), 'Groß^Jürgen=山田^太郎', how);
  assert.deepEqual(ds.get(Tag.PatientId)!.value, [], `${how}: an empty key is kept`);
  assert.deepEqual(ds.get(Tag.ModalitiesInStudy)!.value, ['CT', 'MR'], how);
  assert.deepEqual(ds.get(Tag.SeriesNumber)!.value, [12], how);
  const wc = ds.get(Tag.WindowCenter)!;
  assert.ok(wc.raw.length <= 3 * 17, `${how}: DS values within 16 characters`);
  assert.deepEqual(
    (wc.value as number[]).map((v) => Number(v.toPrecision(10))),
    [0.3, -1e-7, 123456789.1],
    how,
  );
  assert.deepEqual(ds.get(0x00181310)!.value, [0, 512, 512, 0], how);
  assert.deepEqual(ds.get(0x00200032)!.value, [-125, -125, 10.5], how);
  assert.deepEqual(ds.get(0x00209165)!.value, [0x00100020], how);
  const items = ds.get(Tag.OtherPatientIdsSequence)!.value as Dataset[];
  assert.equal(items.length, 3, how);
  assert.equal(
    textValue(items[0]!, Tag.IssuerOfPatientId),
    'Gesundheitsamt Köln',
    `${how}: items inherit the character set`,
  );
  assert.equal(items[1]!.size, 0, how);
  const nested = items[2]!.get(Tag.ReferencedImageSequence)!.value as Dataset[];
  assert.equal(textValue(nested[0]!, Tag.ReferencedSopInstanceUid), '1.2.3', how);
}

test('writer and reader: a query identifier round-trips in Explicit VR, and with defined or undefined sequence lengths', () => {
  for (const undefinedLengthSequences of [false, true]) {
    const bytes = writeDataset(query, { encoding: 'explicit-le', undefinedLengthSequences });
    checkQuery(readDataset(bytes, 'explicit-le'), `explicit, undefined lengths ${undefinedLengthSequences}`);
  }
  // Implicit VR: only what the dictionary knows has a VR; the rest comes back as UN bytes.
  const implicit = readDataset(
    writeDataset(query, { encoding: 'implicit-le', undefinedLengthSequences: true }),
    'implicit-le',
  );
  assert.equal(textValue(implicit, Tag.PatientName), 'Groß^Jürgen=山田^太郎');
  assert.equal(implicit.get(0x00181310)!.vr, 'UN');
  assert.equal(textValue((implicit.get(Tag.OtherPatientIdsSequence)!.value as Dataset[])[0]!, Tag.PatientId), 'ALT-1');
  const pn = parsePersonName(textValue(implicit, Tag.PatientName)!);
  assert.equal(pn.alphabetic.family, 'Groß');
  assert.equal(pn.ideographic?.given, '太郎');
  assert.equal(pn.phonetic, undefined);
});

test('writer: dcmdump reads what we write, padding and character set included', () => {
  const file = path.join(tmp, 'query.dcm');
  const meta = {
    mediaStorageSopClassUid: StorageSopClass.SecondaryCapture,
    mediaStorageSopInstanceUid: newUid(),
    transferSyntaxUid: TransferSyntax.ExplicitVrLittleEndian,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
  };
  fs.writeFileSync(file, Buffer.concat([part10Header(meta), writeDataset(query)]));
  const dump = execFileSync('dcmdump', ['-q', '+U8', file], { encoding: 'utf8' });
  assert.match(dump, /\(0010,0010\) PN \[Groß\^Jürgen=山田\^太郎\]/);
  assert.match(dump, /\(0010,0020\) LO \(no value available\)/);
  assert.match(dump, /\(0008,0061\) CS \[CT\\MR\]/);
  assert.match(dump, /\(0020,000d\) UI \[1\.2\.3\.45\]\s+# +8, 1/, 'UID padded with NUL to even length');
  assert.match(dump, /\(0020,9165\) AT \(0010,0020\)/);
  assert.match(dump, /Gesundheitsamt Köln/);
  // Latin-1 when asked for.
  const latin = writeDataset([{ tag: Tag.PatientName, vr: 'PN', value: 'Müller^Jürgen' }], {
    characterSet: 'ISO_IR 100',
  });
  assert.ok(latin.includes(Buffer.from('ISO_IR 100')) && latin.includes(Buffer.from('Müller', 'latin1')));
  assert.throws(
    () => writeDataset([{ tag: Tag.PatientName, vr: 'PN', value: '山田' }], { characterSet: 'ISO_IR 100' }),
    RangeError,
  );
  assert.throws(
    () =>
      writeDataset([
        { tag: Tag.PatientName, vr: 'PN', value: 'a' },
        { tag: Tag.PatientName, vr: 'PN', value: 'b' },
      ]),
    RangeError,
  );
  assert.throws(() => writeDataset([{ tag: Tag.PatientId, vr: 'LO', value: 'x'.repeat(70_000) }]), RangeError);
});

test("Part 10: our header in front of a dataset is a file dcmdump reads; we parse headers back, ours and DCMTK's", () => {
  for (const syntax of ['explicit', 'implicit'] as const) {
    const inst = makeInstance({ syntax, rows: 16, columns: 16 });
    const file = path.join(tmp, `${syntax}.dcm`);
    fs.writeFileSync(file, inst.file);
    const dump = spawnSync(
      'dcmdump',
      ['-M', '+P', 'TransferSyntaxUID', '+P', 'SOPInstanceUID', '+P', 'FileMetaInformationGroupLength', file],
      { encoding: 'utf8' },
    );
    assert.equal(dump.status, 0, dump.stderr);
    assert.equal(dump.stderr, '', 'no warnings');
    assert.ok(dump.stdout.includes(inst.sopInstanceUid));
    const parsed = parsePart10Header(inst.file)!;
    assert.equal(parsed.meta.transferSyntaxUid, inst.transferSyntax);
    assert.equal(parsed.meta.mediaStorageSopInstanceUid, inst.sopInstanceUid);
    assert.equal(parsed.meta.sourceAeTitle, 'GENERATOR');
    assert.deepEqual(inst.file.subarray(parsed.datasetOffset), inst.dataset);
    // Streaming: undefined until the whole header has arrived.
    for (let n = 0; n < parsed.datasetOffset; n += 7)
      assert.equal(parsePart10Header(inst.file.subarray(0, n)), undefined);
    assert.deepEqual(parsePart10Header(inst.file.subarray(0, parsed.datasetOffset)), parsed);
  }
  // A file DCMTK wrote: dcmconv re-encodes our file with its own meta information.
  const theirs = path.join(tmp, 'dcmconv.dcm');
  execFileSync('dcmconv', ['+ti', path.join(tmp, 'explicit.dcm'), theirs]);
  const parsed = parsePart10Header(fs.readFileSync(theirs))!;
  assert.equal(parsed.meta.transferSyntaxUid, TransferSyntax.ImplicitVrLittleEndian);
  assert.match(parsed.meta.implementationClassUid, /^1\.2\.276\.0\.7230010\.3\./);
  assert.throws(() => parsePart10Header(Buffer.alloc(200)), DatasetError);
});

test('reader: truncated and malformed datasets raise DatasetError, random bytes nothing else', () => {
  const bytes = writeDataset(query, { undefinedLengthSequences: true });
  for (let cut = 1; cut < bytes.length; cut++) {
    try {
      readDataset(bytes.subarray(0, cut), 'explicit-le');
    } catch (e) {
      assert.ok(e instanceof DatasetError, `cut ${cut}: ${e}`);
    }
  }
  for (let i = 0; i < 3000; i++) {
    const data = i % 2 ? randomBytes(i % 300) : Buffer.from(bytes);
    if (i % 2 === 0) data[i % data.length]! ^= 1 + (i % 255);
    for (const enc of ['explicit-le', 'implicit-le', 'explicit-be'] as const) {
      try {
        readDataset(data, enc);
      } catch (e) {
        assert.ok(e instanceof DatasetError, String(e));
      }
    }
  }
});

test('text: single-byte sets, UTF-8, and ISO 2022 Japanese (PS3.5 H.3.1)', () => {
  assert.equal(textDecoder(['ISO_IR 100'])(Buffer.from('Müller', 'latin1')), 'Müller');
  assert.equal(textDecoder(['ISO_IR 192'])(Buffer.from('Müller')), 'Müller');
  assert.equal(textDecoder(['ISO_IR 144'])(Buffer.from([0xbb, 0xee, 0xd1, 0xd0])), 'Люба');
  assert.equal(
    textDecoder(['ISO_IR 126'])(Buffer.from([0xc4, 0xe9, 0xef, 0xed, 0xf5, 0xf3, 0xe9, 0xef, 0xf2])),
    'Διονυσιος',
  );
  assert.equal(textDecoder(['ISO_IR 101'])(Buffer.from([0xa3, 0xf3, 0x64, 0xbc])), 'Łódź');
  assert.equal(textDecoder([])(Buffer.from('Smith^John')), 'Smith^John');
  const esc = (s: string) => Buffer.from(s.replaceAll('<ESC>', '\x1b'), 'latin1');
  const yamada = esc('Yamada^Tarou=<ESC>$B;3ED<ESC>(B^<ESC>$BB@O:<ESC>(B=<ESC>$B$d$^$@<ESC>(B^<ESC>$B$?$m$&<ESC>(B');
  assert.equal(textDecoder(['', 'ISO 2022 IR 87'])(yamada), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
  // Korean (PS3.5 I.2): one G1 designation, then KS X 1001 bytes.
  const hong = Buffer.concat([
    Buffer.from('Hong^Gildong=\x1b$)C', 'latin1'),
    Buffer.from([0xfb, 0xf3, 0x5e, 0x1b, 0x24, 0x29, 0x43, 0xd1, 0xce, 0xd4, 0xd7]),
  ]);
  assert.equal(textDecoder(['', 'ISO 2022 IR 149'])(hong), 'Hong^Gildong=洪^吉洞');
});

test('uids: PS3.5 §9.1 syntax', () => {
  for (const ok of ['1.2.840.10008.1.2', '0', '1.0.3', `2.25.${'9'.repeat(39)}`, newUid()])
    assert.ok(isValidUid(ok), ok);
  for (const bad of ['', '1..2', '.1', '1.', '1.02', '01.2', '1.2a', '1 .2', '1.2.3\0', `1.${'2'.repeat(63)}`])
    assert.equal(isValidUid(bad), false, JSON.stringify(bad));
});
