// The streaming dataset scanner: the same values and pixel data position
// however the bytes are chunked, in every layout, on our own files and on
// files DCMTK wrote; only top-level values; and a typed error, never a wrong
// answer, for data that is cut short or malformed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { DatasetScanner, type ScanResult } from '../../src/imaging/dicom/dataset-scanner.ts';
import { DatasetError } from '../../src/imaging/dicom/element-header.ts';
import { parsePart10Header } from '../../src/imaging/dicom/part10.ts';
import { writeDataset, type WriteElement } from '../../src/imaging/dicom/dataset-writer.ts';
import { INDEXED_TAGS, Tag } from '../../src/imaging/dicom/tags.ts';
import { numberValue, textValue } from '../../src/imaging/dicom/values.ts';
import { parsePersonName } from '../../src/imaging/dicom/text.ts';
import { TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-scan-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function scan(data: Buffer, ts: string, cuts: number[] = [], wanted: Iterable<number> = INDEXED_TAGS): ScanResult {
  const s = new DatasetScanner(ts, wanted);
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    s.push(data.subarray(from, cut));
    from = cut;
  }
  return s.end();
}

const everyByte = (n: number) => Array.from({ length: n - 1 }, (_, i) => i + 1);
const randomCuts = (n: number, k: number) =>
  [...new Set(Array.from({ length: k }, () => Math.floor(Math.random() * n)))].sort((a, b) => a - b);

test('scanner: generated instances give the same values and pixel offset in one chunk, 1-byte chunks and random splits', () => {
  for (const syntax of ['explicit', 'implicit'] as const) {
    for (const undefinedLengthSequences of [true, false]) {
      const inst = makeInstance({
        syntax,
        undefinedLengthSequences,
        rows: 8,
        columns: 8,
        frames: 2,
        patientName: 'Müller^Jürgen',
      });
      const whole = scan(inst.dataset, inst.transferSyntax);
      const ds = whole.elements;
      assert.equal(textValue(ds, Tag.PatientName), 'Müller^Jürgen');
      assert.equal(textValue(ds, Tag.PatientId), 'PID-0001', 'the top-level ID, not the nested ones');
      assert.equal(textValue(ds, Tag.SopInstanceUid), inst.sopInstanceUid);
      assert.equal(textValue(ds, Tag.SeriesInstanceUid), inst.seriesInstanceUid);
      assert.equal(textValue(ds, Tag.StudyInstanceUid), inst.studyInstanceUid);
      assert.equal(textValue(ds, Tag.SopClassUid), inst.sopClassUid);
      assert.equal(textValue(ds, Tag.Modality), 'CT');
      assert.equal(textValue(ds, Tag.SpecificCharacterSet), 'ISO_IR 192');
      assert.deepEqual(ds.get(Tag.WindowCenter)!.value, [40, 400]);
      assert.equal(numberValue(ds, Tag.RescaleIntercept), -1024);
      assert.equal(numberValue(ds, Tag.Rows), 8);
      assert.equal(numberValue(ds, Tag.BitsAllocated), 16);
      assert.equal(numberValue(ds, Tag.NumberOfFrames), 2);
      assert.equal(ds.has(Tag.ReferencedImageSequence), false);
      assert.deepEqual(whole.pixelData, {
        offset: inst.dataset.length - inst.pixelDataLength,
        length: inst.pixelDataLength,
        vr: 'OW',
      });
      assert.equal(whole.length, inst.dataset.length);
      assert.deepEqual(
        scan(inst.dataset, inst.transferSyntax, everyByte(inst.dataset.length)),
        whole,
        `${syntax} 1-byte`,
      );
      for (let i = 0; i < 30; i++) {
        const cuts = randomCuts(inst.dataset.length, 1 + i * 3);
        assert.deepEqual(scan(inst.dataset, inst.transferSyntax, cuts), whole, `${syntax} cuts ${cuts.join(',')}`);
      }
    }
  }
});

test('scanner: names in Latin-1 and UTF-8 decode alike and split into components', () => {
  for (const characterSet of ['ISO_IR 100', 'ISO_IR 192'] as const) {
    const inst = makeInstance({ characterSet, patientName: 'Müller^Jürgen^^Dr.' });
    const raw = inst.dataset.includes(Buffer.from('Müller', characterSet === 'ISO_IR 100' ? 'latin1' : 'utf8'));
    assert.ok(raw, `written in ${characterSet}`);
    const name = textValue(scan(inst.dataset, inst.transferSyntax).elements, Tag.PatientName)!;
    assert.equal(name, 'Müller^Jürgen^^Dr.');
    assert.deepEqual(parsePersonName(name), {
      alphabetic: { family: 'Müller', given: 'Jürgen', middle: '', prefix: 'Dr.', suffix: '' },
    });
  }
});

function dump2dcm(name: string, lines: string[], args: string[]): Buffer {
  const txt = path.join(tmp, `${name}.txt`);
  const out = path.join(tmp, `${name}.dcm`);
  fs.writeFileSync(txt, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
  execFileSync('dump2dcm', [...args, txt, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return fs.readFileSync(out);
}

const DUMP = [
  '(0002,0010) UI [TS]',
  '(0008,0005) CS [ISO_IR 100]',
  '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]',
  '(0008,0018) UI [1.2.3.4.5.6]',
  '(0008,1140) SQ (Sequence with undefined length)',
  '  (fffe,e000) na (Item with undefined length)',
  '    (0008,1150) UI [1.2.3]',
  '    (0010,0010) PN [Nested^Decoy]',
  '    (0010,1002) SQ (Sequence with undefined length)',
  '      (fffe,e000) na (Item with undefined length)',
  '        (0010,0020) LO [INNER]',
  '      (fffe,e00d) na (ItemDelimitationItem)',
  '    (fffe,e0dd) na (SequenceDelimitationItem)',
  '  (fffe,e00d) na (ItemDelimitationItem)',
  '(fffe,e0dd) na (SequenceDelimitationItem)',
  '(0009,0010) LO [ACME 1.0]',
  '(0009,1001) UN 01\\02\\03\\04',
  '(0010,0010) PN [Müller^Jürgen]',
  '(0010,0020) LO [PID-7]',
  '(0020,0013) IS [42]',
  '(0028,0010) US 2',
  '(0028,0011) US 3',
  '(0028,1050) DS [-100.5\\20]',
];

test('scanner: files written by dump2dcm in every layout, undefined lengths and group lengths included', () => {
  const native = ['(7fe0,0010) OW 0001\\0002\\0003\\0004\\0005\\0006'];
  const cases: [string, string, string[], string[]][] = [
    ['explicit-le', TransferSyntax.ExplicitVrLittleEndian, ['+te', '-e', '+g'], native],
    ['explicit-le-defined', TransferSyntax.ExplicitVrLittleEndian, ['+te', '+e'], native],
    ['implicit-le', TransferSyntax.ImplicitVrLittleEndian, ['+ti', '-e', '+g'], native],
    ['explicit-be', TransferSyntax.ExplicitVrBigEndian, ['+tb', '-e', '+g'], native],
    [
      'encapsulated',
      TransferSyntax.JpegBaseline,
      ['-e'],
      [
        '(7fe0,0010) OB (PixelSequence)',
        '  (fffe,e000) pi (no value available)',
        '  (fffe,e000) pi ff\\d8\\ff\\d9',
        '  (fffe,e000) pi 01\\02',
        '(fffe,e0dd) na (SequenceDelimitationItem)',
      ],
    ],
  ];
  for (const [name, ts, args, pixels] of cases) {
    const file = dump2dcm(name, [...DUMP.map((l) => l.replace('[TS]', `[${ts}]`)), ...pixels], args);
    const header = parsePart10Header(file)!;
    assert.equal(header.meta.transferSyntaxUid, ts, name);
    const dataset = file.subarray(header.datasetOffset);
    const whole = scan(dataset, ts);
    const ds = whole.elements;
    assert.equal(textValue(ds, Tag.PatientName), 'Müller^Jürgen', name);
    assert.equal(textValue(ds, Tag.PatientId), 'PID-7', name);
    assert.equal(textValue(ds, Tag.SopInstanceUid), '1.2.3.4.5.6', name);
    assert.equal(numberValue(ds, Tag.InstanceNumber), 42, name);
    assert.equal(numberValue(ds, Tag.Columns), 3, name);
    assert.deepEqual(ds.get(Tag.WindowCenter)!.value, [-100.5, 20], name);
    const px = whole.pixelData!;
    if (name === 'encapsulated') {
      assert.deepEqual([px.length, px.vr], [undefined, 'OB']);
      // The value starts with the first item tag: the (empty) basic offset table.
      assert.deepEqual(dataset.subarray(px.offset, px.offset + 8), Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]));
      assert.equal(whole.length, dataset.length);
    } else {
      assert.equal(px.length, 12, name);
      const value = dataset.subarray(px.offset, px.offset + 12);
      const words = Array.from({ length: 6 }, (_, i) =>
        name === 'explicit-be' ? value.readUInt16BE(i * 2) : value.readUInt16LE(i * 2),
      );
      assert.deepEqual(words, [1, 2, 3, 4, 5, 6], name);
    }
    assert.deepEqual(scan(dataset, ts, everyByte(dataset.length)), whole, `${name} 1-byte`);
  }
});

test('scanner: a dataset cut anywhere raises at end() or yields a consistent subset, never wrong values', () => {
  for (const syntax of ['explicit', 'implicit'] as const) {
    const inst = makeInstance({ syntax, rows: 2, columns: 2 });
    const full = scan(inst.dataset, inst.transferSyntax);
    let complete = 0;
    for (let cut = 0; cut < inst.dataset.length; cut++) {
      const part = inst.dataset.subarray(0, cut);
      let result: ScanResult;
      try {
        result = scan(part, inst.transferSyntax, randomCuts(cut, 3));
      } catch (e) {
        assert.ok(e instanceof DatasetError && e.kind === 'truncated', `cut ${cut}: ${e}`);
        continue;
      }
      // Only a cut between two top-level elements is itself a complete dataset.
      complete++;
      for (const [tag, el] of result.elements) assert.deepEqual(el, full.elements.get(tag), `cut ${cut}`);
      assert.equal(result.pixelData, undefined);
    }
    assert.ok(complete <= 45, `${complete} complete prefixes for ${syntax}`);
  }
});

const le = (tag: number, vr: string, value: Buffer) => {
  const h = Buffer.alloc(vr === 'OB' || vr === 'SQ' || vr === 'UN' ? 12 : 8);
  h.writeUInt16LE(Math.floor(tag / 0x10000), 0);
  h.writeUInt16LE(tag % 0x10000, 2);
  h.write(vr, 4, 'latin1');
  if (h.length === 12) h.writeUInt32LE(value.length, 8);
  else h.writeUInt16LE(value.length, 6);
  return Buffer.concat([h, value]);
};

test('scanner: malformed data raises DatasetError', () => {
  const explicit = TransferSyntax.ExplicitVrLittleEndian;
  const fails = (data: Buffer, kind: string, why: string, wanted: number[] = INDEXED_TAGS.slice()) => {
    assert.throws(
      () => scan(data, explicit, [], wanted),
      (e) => e instanceof DatasetError && e.kind === kind,
      why,
    );
  };
  fails(le(Tag.PatientId, 'LO', Buffer.from('ODD')), 'malformed', 'odd length');
  fails(le(Tag.PatientId, 'XX', Buffer.from('ABCD')), 'malformed', 'unknown VR');
  fails(
    Buffer.concat([le(Tag.PatientId, 'LO', Buffer.from('AB')), le(Tag.PatientName, 'PN', Buffer.from('AB'))]),
    'malformed',
    'out of order',
  );
  fails(
    Buffer.concat([le(Tag.PatientId, 'LO', Buffer.from('AB')), le(Tag.PatientId, 'LO', Buffer.from('CD'))]),
    'malformed',
    'repeated',
  );
  fails(Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]), 'malformed', 'item delimiter at top level');
  const big = Buffer.alloc(8);
  big.writeUInt16LE(0x0010, 0);
  big.writeUInt16LE(0x0020, 2);
  big.write('LO', 4, 'latin1');
  big.writeUInt16LE(0xfffe, 6);
  const s = new DatasetScanner(explicit, [Tag.PatientId], { maxValueLength: 1000 });
  assert.throws(
    () => s.push(big),
    (e) => e instanceof DatasetError && e.kind === 'malformed',
    'wanted value over the limit',
  );
  assert.throws(() => s.end(), DatasetError, 'stays failed');
  // A sequence of undefined length that never closes.
  const open = Buffer.concat([
    le(Tag.ReferencedImageSequence, 'SQ', Buffer.alloc(0)),
    Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
  ]);
  open.writeUInt32LE(0xffffffff, 8);
  fails(open, 'truncated', 'unclosed sequence');
  // Undefined-length items nested without end.
  const deep = [le(Tag.ReferencedImageSequence, 'SQ', Buffer.alloc(0))];
  deep[0]!.writeUInt32LE(0xffffffff, 8);
  for (let i = 0; i < 40; i++) deep.push(Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]), deep[0]!);
  fails(Buffer.concat(deep), 'malformed', 'nesting too deep');
  assert.throws(
    () => new DatasetScanner(TransferSyntax.DeflatedExplicitVrLittleEndian, []),
    (e) => e instanceof DatasetError && e.kind === 'unsupported',
  );
  assert.throws(
    () => new DatasetScanner('1.2.3.4', []),
    (e) => e instanceof DatasetError && e.kind === 'unsupported',
  );
});

test('scanner: random bytes raise only DatasetError', () => {
  for (let i = 0; i < 3000; i++) {
    const bytes = randomBytes(1 + (i % 400));
    for (const ts of [
      TransferSyntax.ExplicitVrLittleEndian,
      TransferSyntax.ImplicitVrLittleEndian,
      TransferSyntax.ExplicitVrBigEndian,
    ]) {
      try {
        scan(bytes, ts, randomCuts(bytes.length, 3));
      } catch (e) {
        assert.ok(e instanceof DatasetError, String(e));
      }
    }
  }
});

test('scanner: wanted values are copied out, so the chunks they came in are not kept', () => {
  const elements: WriteElement[] = [
    { tag: Tag.PatientId, vr: 'LO', value: 'KEEP-ME' },
    { tag: Tag.PixelData, vr: 'OW', value: Buffer.alloc(1 << 20) },
  ];
  const data = writeDataset(elements);
  const result = scan(data, TransferSyntax.ExplicitVrLittleEndian);
  assert.notEqual(result.elements.get(Tag.PatientId)!.raw.buffer, data.buffer);
  assert.equal(textValue(result.elements, Tag.PatientId), 'KEEP-ME');
});
