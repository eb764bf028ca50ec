// What an uploaded file is, by its content (the `file-type` package reads its signature), never by
// its name: PDF, JPEG, PNG, TIFF and the office formats DOCX, XLSX, PPTX, ODT, ODS, ODP are accepted,
// everything else refused. The legacy binary formats DOC/XLS/PPT are refused too: they share one
// container (OLE2/CFB) with installers and mail files, which the first bytes cannot tell apart. A
// name whose extension says another type than the content is refused, naming both.
import { fileTypeFromBuffer } from 'file-type';
import { KarteiError, fieldRefused } from '../errors.ts';

/** How many bytes from the start the check reads: enough for every accepted signature and an office file's first entries. */
export const HEAD_BYTES = 256 * 1024;

/** The accepted types: media type → the extensions a name of that type may have (first: the one to add). */
const ACCEPTED: Record<string, { label: string; extensions: string[] }> = {
  'application/pdf': { label: 'PDF', extensions: ['pdf'] },
  'image/jpeg': { label: 'JPEG', extensions: ['jpg', 'jpeg', 'jpe'] },
  'image/png': { label: 'PNG', extensions: ['png'] },
  'image/tiff': { label: 'TIFF', extensions: ['tif', 'tiff'] },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { label: 'DOCX', extensions: ['docx'] },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { label: 'XLSX', extensions: ['xlsx'] },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    label: 'PPTX',
    extensions: ['pptx'],
  },
  'application/vnd.oasis.opendocument.text': { label: 'ODT', extensions: ['odt'] },
  'application/vnd.oasis.opendocument.spreadsheet': { label: 'ODS', extensions: ['ods'] },
  'application/vnd.oasis.opendocument.presentation': { label: 'ODP', extensions: ['odp'] },
};

/** What the browser may show inline (the preview); everything else only downloads. */
export const PREVIEWABLE = new Set(['application/pdf', 'image/jpeg', 'image/png', 'image/tiff']);

/** Extensions of types the check knows but refuses, so a mismatch names what the name claims. */
const KNOWN_EXTENSIONS: Record<string, string> = Object.fromEntries(
  Object.values(ACCEPTED).flatMap((a) => a.extensions.map((e) => [e, a.label])),
);

/**
 * The checked type of a file from its first bytes and its name: the media type to store and the
 * file name to keep (with the right extension added where it had none). Throws the refusal.
 */
export async function checkContent(head: Buffer, fileName: string): Promise<{ mediaType: string; fileName: string }> {
  const found = head.length > 0 ? await fileTypeFromBuffer(head) : undefined;
  const accepted = found ? ACCEPTED[found.mime] : undefined;
  if (!found || !accepted)
    throw new KarteiError(
      'unsupported-media-type',
      'body: only PDF, JPEG, PNG, TIFF, DOCX, XLSX, PPTX, ODT, ODS and ODP files are accepted',
      {
        field: 'body',
        errors: [{ field: 'body', code: 'file-type-refused', params: { detected: found?.ext ?? 'unknown' } }],
      },
    );
  const dot = fileName.lastIndexOf('.');
  const extension = dot > 0 ? fileName.slice(dot + 1).toLowerCase() : '';
  if (!extension || !/^[a-z0-9]{1,8}$/.test(extension))
    return { mediaType: found.mime, fileName: `${fileName}.${accepted.extensions[0]}` };
  if (!accepted.extensions.includes(extension))
    throw fieldRefused(
      'validation-failed',
      'fileName',
      'file-name-mismatch',
      `the name ends in .${extension}${KNOWN_EXTENSIONS[extension] ? ` (${KNOWN_EXTENSIONS[extension]})` : ''}, but the content is ${accepted.label}`,
      { extension, detected: accepted.label },
    );
  return { mediaType: found.mime, fileName };
}
