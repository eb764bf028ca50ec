// What an upload is, by its content (issue 17): every accepted type recognised from its bytes whatever
// its name says; office containers told apart by what is inside; legacy OLE2 files, executables, text
// and macro-enabled office files refused; a name with another type's extension refused naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContent } from '../../src/desk/content-check.ts';
import { testDocx, testImage, testOdt, testPdf, testZip } from '../helpers/documents.ts';

const ooxml = (main: string, dir: string) =>
  testZip([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        `<Override PartName="/${dir}/main.xml" ContentType="${main}"/></Types>`,
    ],
    [`${dir}/main.xml`, '<x/>'],
  ]);
const odf = (mime: string) =>
  testZip([
    ['mimetype', mime],
    ['content.xml', '<x/>'],
  ]);

test('each accepted type is recognised from its bytes', async () => {
  const cases: [Buffer, string, string][] = [
    [testPdf('x'), 'a.pdf', 'application/pdf'],
    [await testImage('jpeg'), 'a.jpeg', 'image/jpeg'],
    [await testImage('png'), 'a.png', 'image/png'],
    [await testImage('tiff'), 'a.tif', 'image/tiff'],
    [testDocx(), 'a.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    [
      ooxml('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml', 'xl'),
      'a.xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ],
    [
      ooxml('application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml', 'ppt'),
      'a.pptx',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    ],
    [testOdt(), 'a.odt', 'application/vnd.oasis.opendocument.text'],
    [odf('application/vnd.oasis.opendocument.spreadsheet'), 'a.ods', 'application/vnd.oasis.opendocument.spreadsheet'],
  ];
  for (const [bytes, name, mediaType] of cases)
    assert.deepEqual(await checkContent(bytes, name), { mediaType, fileName: name }, name);
  // No extension: the content's is added.
  assert.deepEqual(await checkContent(testPdf('x'), 'Befund'), {
    mediaType: 'application/pdf',
    fileName: 'Befund.pdf',
  });
});

test('everything else is refused, and so is a name that claims another type', async () => {
  const refused = async (bytes: Buffer, name: string) => {
    try {
      await checkContent(bytes, name);
    } catch (e) {
      return (e as { extra: { errors: { code: string; params: Record<string, string> }[] } }).extra.errors[0]!;
    }
    assert.fail(`${name} was accepted`);
  };
  const cfb = Buffer.alloc(2048);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(cfb);
  assert.deepEqual(await refused(cfb, 'alt.xls'), {
    field: 'body',
    code: 'file-type-refused',
    params: { detected: 'cfb' },
  });
  assert.equal(
    (await refused(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(512)]), 'x.exe')).code,
    'file-type-refused',
  );
  assert.equal((await refused(Buffer.from('Hallo Welt'), 'x.pdf')).code, 'file-type-refused');
  assert.equal((await refused(testZip([['a.txt', 'x']]), 'x.docx')).code, 'file-type-refused');
  const macro = ooxml('application/vnd.ms-word.document.macroEnabled.main+xml', 'word');
  assert.equal((await refused(macro, 'x.docm')).code, 'file-type-refused');
  assert.deepEqual(await refused(await testImage('png'), 'scan.jpg'), {
    field: 'fileName',
    code: 'file-name-mismatch',
    params: { extension: 'jpg', detected: 'PNG' },
  });
  assert.deepEqual(await refused(testDocx(), 'brief.pdf'), {
    field: 'fileName',
    code: 'file-name-mismatch',
    params: { extension: 'pdf', detected: 'DOCX' },
  });
});
