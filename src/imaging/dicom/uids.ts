// The UIDs the archive speaks: transfer syntaxes (and how each lays out a
// dataset), the SOP classes it stores, queries and retrieves, and the UID
// syntax of PS3.5 §9.

export const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
export const VERIFICATION = '1.2.840.10008.1.1';

/** Byte layout of a dataset's elements; `deflated` has to be inflated before it can be read. */
export type DatasetEncoding = 'implicit-le' | 'explicit-le' | 'explicit-be';

export const TransferSyntax = {
  ImplicitVrLittleEndian: '1.2.840.10008.1.2',
  ExplicitVrLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressed: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVrLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVrBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  RleLossless: '1.2.840.10008.1.2.5',
} as const;

/** Every known syntax except these two little-endian ones encodes elements as Explicit VR Little Endian. */
const LAYOUT: Record<string, DatasetEncoding | 'deflated'> = {
  ...Object.fromEntries(Object.values(TransferSyntax).map((uid) => [uid, 'explicit-le'])),
  [TransferSyntax.ImplicitVrLittleEndian]: 'implicit-le',
  [TransferSyntax.ExplicitVrBigEndian]: 'explicit-be',
  [TransferSyntax.DeflatedExplicitVrLittleEndian]: 'deflated',
};

/** How a transfer syntax lays out the dataset; undefined for syntaxes we do not know. */
export const datasetLayout = (transferSyntax: string): DatasetEncoding | 'deflated' | undefined =>
  LAYOUT[transferSyntax];

export const StorageSopClass = {
  ComputedRadiography: '1.2.840.10008.5.1.4.1.1.1',
  DigitalXRayForPresentation: '1.2.840.10008.5.1.4.1.1.1.1',
  DigitalXRayForProcessing: '1.2.840.10008.5.1.4.1.1.1.1.1',
  MammographyForPresentation: '1.2.840.10008.5.1.4.1.1.1.2',
  MammographyForProcessing: '1.2.840.10008.5.1.4.1.1.1.2.1',
  IntraoralForPresentation: '1.2.840.10008.5.1.4.1.1.1.3',
  IntraoralForProcessing: '1.2.840.10008.5.1.4.1.1.1.3.1',
  Ct: '1.2.840.10008.5.1.4.1.1.2',
  EnhancedCt: '1.2.840.10008.5.1.4.1.1.2.1',
  UltrasoundMultiframe: '1.2.840.10008.5.1.4.1.1.3.1',
  Mr: '1.2.840.10008.5.1.4.1.1.4',
  EnhancedMr: '1.2.840.10008.5.1.4.1.1.4.1',
  Ultrasound: '1.2.840.10008.5.1.4.1.1.6.1',
  SecondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  MultiframeSingleBitSecondaryCapture: '1.2.840.10008.5.1.4.1.1.7.1',
  MultiframeGrayscaleByteSecondaryCapture: '1.2.840.10008.5.1.4.1.1.7.2',
  MultiframeGrayscaleWordSecondaryCapture: '1.2.840.10008.5.1.4.1.1.7.3',
  MultiframeTrueColorSecondaryCapture: '1.2.840.10008.5.1.4.1.1.7.4',
  XRayAngiographic: '1.2.840.10008.5.1.4.1.1.12.1',
  XRayRadiofluoroscopic: '1.2.840.10008.5.1.4.1.1.12.2',
  NuclearMedicine: '1.2.840.10008.5.1.4.1.1.20',
  VlPhotographic: '1.2.840.10008.5.1.4.1.1.77.1.4',
  BasicTextSr: '1.2.840.10008.5.1.4.1.1.88.11',
  EnhancedSr: '1.2.840.10008.5.1.4.1.1.88.22',
  ComprehensiveSr: '1.2.840.10008.5.1.4.1.1.88.33',
  XRayRadiationDoseSr: '1.2.840.10008.5.1.4.1.1.88.67',
  EncapsulatedPdf: '1.2.840.10008.5.1.4.1.1.104.1',
  Pet: '1.2.840.10008.5.1.4.1.1.128',
  RtImage: '1.2.840.10008.5.1.4.1.1.481.1',
} as const;

export const QueryRetrieveSopClass = {
  PatientRootFind: '1.2.840.10008.5.1.4.1.2.1.1',
  PatientRootMove: '1.2.840.10008.5.1.4.1.2.1.2',
  PatientRootGet: '1.2.840.10008.5.1.4.1.2.1.3',
  StudyRootFind: '1.2.840.10008.5.1.4.1.2.2.1',
  StudyRootMove: '1.2.840.10008.5.1.4.1.2.2.2',
  StudyRootGet: '1.2.840.10008.5.1.4.1.2.2.3',
} as const;

const STORAGE = new Set<string>(Object.values(StorageSopClass));
export const isStorageSopClass = (uid: string) => STORAGE.has(uid);

const COMPONENT = '(0|[1-9][0-9]*)';
const UID = new RegExp(`^${COMPONENT}(\\.${COMPONENT})*$`);

/** PS3.5 §9.1: at most 64 characters, dot-separated numbers without leading zeros, no empty component. */
export const isValidUid = (s: string) => s.length <= 64 && UID.test(s);

/** AE title (VR AE, PS3.5): 1–16 characters, no backslash or control characters; surrounding spaces are not significant. */
export const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;
