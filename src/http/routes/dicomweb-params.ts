// The path parameters of the DICOMweb resources, validated at the edge.
import { z } from 'zod';
import { isValidUid } from '../../imaging/dicom/uids.ts';

export const uid = z
  .string()
  .max(64)
  .refine(isValidUid, { message: 'not a DICOM UID', params: { code: 'not-uid' } });
export const studyParams = z.strictObject({ study: uid });
export const seriesParams = z.strictObject({ study: uid, series: uid });
export const instanceParams = z.strictObject({ study: uid, series: uid, instance: uid });
