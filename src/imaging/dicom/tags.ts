// The data elements the archive reads or writes by name, with their VRs: an
// Implicit VR dataset carries no VRs, so these are the only elements whose
// values we can interpret there. Everything else reads as UN.

const DICTIONARY = {
  SpecificCharacterSet: [0x00080005, 'CS'],
  ImageType: [0x00080008, 'CS'],
  SopClassUid: [0x00080016, 'UI'],
  SopInstanceUid: [0x00080018, 'UI'],
  StudyDate: [0x00080020, 'DA'],
  SeriesDate: [0x00080021, 'DA'],
  StudyTime: [0x00080030, 'TM'],
  AccessionNumber: [0x00080050, 'SH'],
  QueryRetrieveLevel: [0x00080052, 'CS'],
  RetrieveAeTitle: [0x00080054, 'AE'],
  InstanceAvailability: [0x00080056, 'CS'],
  Modality: [0x00080060, 'CS'],
  ModalitiesInStudy: [0x00080061, 'CS'],
  SopClassesInStudy: [0x00080062, 'UI'],
  Manufacturer: [0x00080070, 'LO'],
  InstitutionName: [0x00080080, 'LO'],
  ReferringPhysicianName: [0x00080090, 'PN'],
  StudyDescription: [0x00081030, 'LO'],
  SeriesDescription: [0x0008103e, 'LO'],
  ReferencedImageSequence: [0x00081140, 'SQ'],
  ReferencedSopClassUid: [0x00081150, 'UI'],
  ReferencedSopInstanceUid: [0x00081155, 'UI'],
  PatientName: [0x00100010, 'PN'],
  PatientId: [0x00100020, 'LO'],
  IssuerOfPatientId: [0x00100021, 'LO'],
  PatientBirthDate: [0x00100030, 'DA'],
  PatientSex: [0x00100040, 'CS'],
  OtherPatientIdsSequence: [0x00101002, 'SQ'],
  BodyPartExamined: [0x00180015, 'CS'],
  StudyInstanceUid: [0x0020000d, 'UI'],
  SeriesInstanceUid: [0x0020000e, 'UI'],
  StudyId: [0x00200010, 'SH'],
  SeriesNumber: [0x00200011, 'IS'],
  InstanceNumber: [0x00200013, 'IS'],
  NumberOfPatientRelatedStudies: [0x00201200, 'IS'],
  NumberOfPatientRelatedSeries: [0x00201202, 'IS'],
  NumberOfPatientRelatedInstances: [0x00201204, 'IS'],
  NumberOfStudyRelatedSeries: [0x00201206, 'IS'],
  NumberOfStudyRelatedInstances: [0x00201208, 'IS'],
  NumberOfSeriesRelatedInstances: [0x00201209, 'IS'],
  SamplesPerPixel: [0x00280002, 'US'],
  PhotometricInterpretation: [0x00280004, 'CS'],
  PlanarConfiguration: [0x00280006, 'US'],
  NumberOfFrames: [0x00280008, 'IS'],
  Rows: [0x00280010, 'US'],
  Columns: [0x00280011, 'US'],
  BitsAllocated: [0x00280100, 'US'],
  BitsStored: [0x00280101, 'US'],
  HighBit: [0x00280102, 'US'],
  PixelRepresentation: [0x00280103, 'US'],
  WindowCenter: [0x00281050, 'DS'],
  WindowWidth: [0x00281051, 'DS'],
  RescaleIntercept: [0x00281052, 'DS'],
  RescaleSlope: [0x00281053, 'DS'],
  PixelData: [0x7fe00010, 'OW'],
} as const satisfies Record<string, readonly [number, string]>;

export type TagName = keyof typeof DICTIONARY;

export const Tag = Object.fromEntries(Object.entries(DICTIONARY).map(([name, [tag]]) => [name, tag])) as {
  readonly [K in TagName]: (typeof DICTIONARY)[K][0];
};

const VRS = new Map<number, string>(Object.values(DICTIONARY));

/** The VR of a known element; undefined for every other tag. */
export const vrOf = (tag: number): string | undefined => VRS.get(tag);

/** What the archive indexes from each stored instance (PS3.3 patient, study, series and image modules). */
export const INDEXED_TAGS: readonly number[] = [
  Tag.SpecificCharacterSet,
  Tag.SopClassUid,
  Tag.SopInstanceUid,
  Tag.StudyDate,
  Tag.StudyTime,
  Tag.AccessionNumber,
  Tag.Modality,
  Tag.ReferringPhysicianName,
  Tag.StudyDescription,
  Tag.SeriesDescription,
  Tag.PatientName,
  Tag.PatientId,
  Tag.PatientBirthDate,
  Tag.PatientSex,
  Tag.BodyPartExamined,
  Tag.StudyInstanceUid,
  Tag.SeriesInstanceUid,
  Tag.StudyId,
  Tag.SeriesNumber,
  Tag.InstanceNumber,
  Tag.SamplesPerPixel,
  Tag.PhotometricInterpretation,
  Tag.NumberOfFrames,
  Tag.Rows,
  Tag.Columns,
  Tag.BitsAllocated,
  Tag.BitsStored,
  Tag.PixelRepresentation,
  Tag.WindowCenter,
  Tag.WindowWidth,
  Tag.RescaleIntercept,
  Tag.RescaleSlope,
];

/** `(gggg,eeee)`, the way the standard and DCMTK print a tag. */
export const formatTag = (tag: number) => {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
};
