// What the file's documents and the mail-room share (issue 17): the upload with its progress (the
// file's bytes sent as they are, its name in a header), the table of documents, the preview dialog
// (images as <img>, a PDF in a same-origin frame the server sandboxes), download links, and deleting
// with a reason.
import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { ApiError, type Problem } from '../../api/client.ts';
import { csrfToken } from '../../api/tab-session.ts';
import type { DocumentItem } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { errorTitle, TextField } from '../../ui/form.tsx';
import { fieldMessage, fieldProblems } from '../../ui/problem-text.ts';
import { Dialog } from '../../ui/dialog.tsx';
import { Table } from '../../ui/table.tsx';

/** Where a document's bytes are: a file's documents, or the mail-room's scans. */
export type DocumentBase = '/api/documents' | '/api/mailroom';

/** 1,2 MB / 830 kB / 512 B, in the user's language. */
function formatSize(bytes: number, lang = document.documentElement.lang || 'de'): string {
  const n = (v: number, digits: number) =>
    v.toLocaleString(lang === 'en' ? 'en-GB' : 'de-DE', { maximumFractionDigits: digits });
  if (bytes >= 1024 * 1024) return `${n(bytes / (1024 * 1024), 1)} MB`;
  if (bytes >= 1024) return `${n(bytes / 1024, 0)} kB`;
  return `${bytes} B`;
}

/** The sentence for a refusal: the first field's message, else the error's headline. */
export function refusalText(t: ReturnType<typeof useT>, e: unknown): string {
  if (!(e instanceof ApiError)) return t('error.network');
  const first = fieldProblems(e)[0];
  return first ? fieldMessage(first) : errorTitle(t, e);
}

/** Sends `file` to `url` as it is, reporting progress (0–1); resolves with the answer, rejects with an ApiError. */
function sendFile(url: string, file: File, onProgress: (done: number) => void): Promise<{ id: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-file-name', encodeURIComponent(file.name));
    xhr.setRequestHeader('accept', 'application/json');
    const csrf = csrfToken();
    if (csrf) xhr.setRequestHeader('x-csrf-token', csrf);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new Error('network'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as { id: string });
      const p = (body ?? {}) as Partial<Problem>;
      reject(new ApiError({ title: '', detail: '', code: 'unknown', ...p, status: xhr.status }));
    };
    xhr.send(file);
  });
}

/** A file input that uploads what is chosen at once, showing its progress and, on a refusal, why. */
export function UploadControl({
  url,
  label,
  maxBytes,
  onUploaded,
}: {
  url: string;
  label: string;
  maxBytes: number;
  onUploaded: (name: string) => void;
}) {
  const t = useT();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const choose = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    if (file.size > maxBytes) {
      setError(t('problem.field.file-too-large', { maxMb: Math.round(maxBytes / (1024 * 1024)) }));
      return;
    }
    setProgress(0);
    try {
      await sendFile(url, file, setProgress);
      onUploaded(file.name);
    } catch (e) {
      setError(refusalText(t, e));
    } finally {
      setProgress(null);
      if (input.current) input.current.value = '';
    }
  };
  return (
    <div className="upload">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        ref={input}
        type="file"
        accept=".pdf,.jpg,.jpeg,.png,.tif,.tiff,.docx,.xlsx,.pptx,.odt,.ods,.odp"
        aria-describedby={`${id}-hint`}
        disabled={progress !== null}
        onChange={(e) => void choose(e.target.files?.[0])}
      />
      <span id={`${id}-hint`} className="hint">
        {t('documents.uploadHint', { maxMb: Math.round(maxBytes / (1024 * 1024)) })}
      </span>
      {progress !== null && (
        <progress max={1} value={progress} aria-label={t('documents.uploading')}>
          {Math.round(progress * 100)} %
        </progress>
      )}
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The preview: an image as it is (a TIFF converted by the server), a PDF in a frame the server sandboxes. */
export function PreviewDialog({ doc, base, onClose }: { doc: DocumentItem; base: DocumentBase; onClose: () => void }) {
  const t = useT();
  const name = doc.fileName ?? doc.title ?? t('documents.unnamed');
  const src = `${base}/${doc.id}/preview`;
  return (
    <Dialog title={t('documents.previewOf', { name })} onClose={onClose} className="document-preview">
      <div className="actions">
        <a href={`${base}/${doc.id}/content`} download={name}>
          {t('documents.download')}
        </a>
        <button type="button" onClick={onClose}>
          {t('documents.close')}
        </button>
      </div>
      {doc.mediaType === 'application/pdf' ? (
        <PreviewFrame src={src} title={t('documents.previewOf', { name })} />
      ) : (
        <img src={src} alt={t('documents.previewOf', { name })} />
      )}
    </Dialog>
  );
}

/**
 * The PDF's frame, showing when it has the keyboard focus: Chromium never matches `:focus` on a frame whose
 * page holds the focus, so the frame is marked while the focus is inside it (the window's blur with the
 * frame as the active element) and unmarked when the focus comes back to the page.
 */
function PreviewFrame({ src, title }: { src: string; title: string }) {
  const ref = useRef<HTMLIFrameElement>(null);
  useEffect(() => {
    const frame = ref.current;
    if (!frame) return;
    const left = () => frame.classList.toggle('has-focus', document.activeElement === frame);
    const back = () => frame.classList.remove('has-focus');
    window.addEventListener('blur', left);
    window.addEventListener('focus', back);
    document.addEventListener('focusin', back);
    return () => {
      window.removeEventListener('blur', left);
      window.removeEventListener('focus', back);
      document.removeEventListener('focusin', back);
    };
  }, []);
  return <iframe ref={ref} src={src} title={title} />;
}

/** Asks for the reason before a document or scan is deleted; `remove` throws what the server refused. */
export function DeleteDialog({
  name,
  remove,
  onClose,
}: {
  name: string;
  remove: (reason: string) => Promise<void>;
  onClose: (deleted: boolean) => void;
}) {
  const t = useT();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await remove(reason.trim());
      onClose(true);
    } catch (err) {
      setError(refusalText(t, err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={t('documents.deleteTitle', { name })} onClose={() => onClose(false)} className="confirm">
      <form noValidate onSubmit={(e) => void submit(e)}>
        <p>{t('documents.deleteText')}</p>
        <TextField
          label={t('documents.deleteReason')}
          value={reason}
          onChange={setReason}
          multiline
          autoFocus
          hint={t('documents.deleteReasonHint')}
          error={error ?? undefined}
        />
        <div className="actions">
          <button type="button" onClick={() => onClose(false)}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="danger" disabled={busy || reason.trim().length < 5}>
            {t('documents.delete')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The documents as a table: name, type, size, version, who added it and when; preview, download, delete, more. */
export function DocumentTable({
  items,
  base,
  caption,
  none,
  canDelete,
  onPreview,
  onDelete,
  extra,
}: {
  items: DocumentItem[];
  base: DocumentBase;
  caption: string;
  none: string;
  canDelete: (d: DocumentItem) => boolean;
  onPreview: (d: DocumentItem) => void;
  onDelete: (d: DocumentItem) => void;
  /** More buttons in a row (the mail-room's "assign"). */
  extra?: (d: DocumentItem) => ReactNode;
}) {
  const t = useT();
  return (
    <Table
      items={items}
      caption={caption}
      none={none}
      headers={[
        t('documents.name'),
        t('documents.type'),
        t('documents.size'),
        t('documents.version'),
        t('documents.added'),
        t('documents.actions'),
      ]}
      row={(d) => {
        const name = d.fileName ?? d.title ?? t('documents.restricted');
        return (
          <tr key={d.id}>
            <td>
              {d.title && d.title !== d.fileName ? (
                <>
                  {d.title}
                  <span className="hint"> · {d.fileName}</span>
                </>
              ) : (
                name
              )}
            </td>
            <td>{typeLabel(d.mediaType)}</td>
            <td>{formatSize(d.size)}</td>
            <td>{d.version}</td>
            <td>
              {formatDateTime(d.updatedAt)} · {d.updatedByName ?? t('documents.someone')}
            </td>
            <td className="actions">
              {d.fileName !== null && d.previewable && (
                <button type="button" className="inline" onClick={() => onPreview(d)}>
                  {t('documents.preview')}
                  <span className="visually-hidden"> {name}</span>
                </button>
              )}
              {d.fileName !== null && (
                <a href={`${base}/${d.id}/content`} download={d.fileName}>
                  {t('documents.download')}
                  <span className="visually-hidden"> {name}</span>
                </a>
              )}
              {extra?.(d)}
              {canDelete(d) && (
                <button type="button" className="inline danger" onClick={() => onDelete(d)}>
                  {t('documents.delete')}
                  <span className="visually-hidden"> {name}</span>
                </button>
              )}
            </td>
          </tr>
        );
      }}
    />
  );
}

const TYPE_LABELS: Record<string, string> = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/tiff': 'TIFF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PPTX',
  'application/vnd.oasis.opendocument.text': 'ODT',
  'application/vnd.oasis.opendocument.spreadsheet': 'ODS',
  'application/vnd.oasis.opendocument.presentation': 'ODP',
};
const typeLabel = (mediaType: string) => TYPE_LABELS[mediaType] ?? mediaType;
