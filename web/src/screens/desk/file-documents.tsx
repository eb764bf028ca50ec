// Issue 17: the section "Dokumente" of a person's file: its documents (uploads and generated letters)
// with who added them and when, version, size and type; upload with progress, preview of PDFs and
// images, download, delete with a reason (physicians and heads); the letters' action in the bar.
import { useState, type ReactNode } from 'react';
import { api } from '../../api/client.ts';
import type { DocumentItem, FileDocuments as FileDocumentsAnswer } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { DeleteDialog, DocumentTable, PreviewDialog, UploadControl } from './documents-shared.tsx';

export function FileDocuments({
  personId,
  renderActions,
}: {
  personId: string;
  renderActions?: (reload: () => void) => ReactNode;
}) {
  const t = useT();
  const notify = useNotify();
  const state = useLoad(() => api<FileDocumentsAnswer>('GET', `/api/persons/${personId}/documents`), [personId]);
  const [preview, setPreview] = useState<DocumentItem | null>(null);
  const [deleting, setDeleting] = useState<DocumentItem | null>(null);
  return (
    <section aria-labelledby="documents-title">
      <h2 id="documents-title">{t('documents.title')}</h2>
      <Loaded state={state}>
        {(docs) => (
          <>
            <div className="actions document-actions">
              {docs.permissions.add && (
                <UploadControl
                  url={`/api/persons/${personId}/documents`}
                  label={t('documents.upload')}
                  maxBytes={docs.maxBytes}
                  onUploaded={(name) => {
                    notify(t('documents.uploaded', { name }));
                    state.reload();
                  }}
                />
              )}
              {/* A letter is a document added (`letter.generate` is decided like `document.add`): not offered
                  where the server would refuse it, e.g. to a reader under an emergency grant. */}
              {docs.permissions.add && renderActions?.(state.reload)}
            </div>
            <DocumentTable
              items={docs.items}
              base="/api/documents"
              caption={t('documents.title')}
              none={t('documents.none')}
              canDelete={(d) =>
                d.sensitivity === 'restricted' ? docs.permissions.deleteRestricted : docs.permissions.delete
              }
              onPreview={setPreview}
              onDelete={setDeleting}
            />
          </>
        )}
      </Loaded>
      {preview && <PreviewDialog doc={preview} base="/api/documents" onClose={() => setPreview(null)} />}
      {deleting && (
        <DeleteDialog
          name={deleting.fileName ?? deleting.title ?? t('documents.unnamed')}
          remove={(reason) => api('DELETE', `/api/documents/${deleting.id}`, { reason })}
          onClose={(deleted) => {
            if (deleted) {
              notify(t('documents.deleted'));
              state.reload();
            }
            setDeleting(null);
          }}
        />
      )}
    </section>
  );
}
