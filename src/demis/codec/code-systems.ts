// The DEMIS code lists a notification bundle is checked against, with the German names health-office
// staff see. Extracted from the Robert Koch-Institut's published CodeSystem resources (data, not code):
//   notificationCategory 2.2.0 (2025-07-31, rki.demis.laboratory / rki.demis.r4.core profiles, 85 codes, "content: complete")
//   notificationDiseaseCategory 1.8.0 (2024-08-20, rki.demis.disease profiles, 43 codes, "content: fragment")
// as mirrored in github.com/kbrki/test-github-io (test_diff/MetadataResources/CodeSystem/, commit
// 7b90a292ad164d58318f1afee49967fbb5c3bee5), (C) 2021-2025 Robert Koch-Institut. Regenerate from a newer
// profile package when RKI publishes one; the codes are stable, new ones are appended.
// Pure data: imported by the codec (validation, display names) and safe for the web application.

export const NOTIFICATION_CATEGORY_SYSTEM = 'https://demis.rki.de/fhir/CodeSystem/notificationCategory';
export const NOTIFICATION_DISEASE_CATEGORY_SYSTEM = 'https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory';

/** One code: `name` is the short German name (the designation), `display` the CodeSystem display. */
export interface DemisCode {
  display: string;
  name: string;
  /** Only notifiable in some federal states (ISO 3166-2 codes, e.g. `DE-SN`). */
  federalStates?: readonly string[];
  inactive?: true;
}

/** notificationCategory: the pathogen categories of §7 IfSG laboratory notifications (code ends in `p`). */
export const PATHOGEN_CATEGORIES: Readonly<Record<string, DemisCode>> = {
  acbp: {
    display:
      'Acinetobacter spp. bei Nachweis einer Carbapenemase-Determinante oder mit verminderter Empfindlichkeit gegenüber Carbapenemen außer bei natürlicher Resistenz; Meldepflicht nur bei Infektion oder Kolonisation',
    name: 'Acinetobacter spp., Carbapenem',
  },
  advp: {
    display: 'Adenoviren; Meldepflicht nur für den direkten Nachweis im Konjunktivalabstrich',
    name: 'Adenoviren, Konjunktivalabstrich',
  },
  adep: {
    display: 'Adenoviren; Meldepflicht bei akuter Infektion für Nachweise aus allen Körpermaterialien',
    name: 'Adenoviren, alle Materialien',
    federalStates: ['DE-SN'],
  },
  abvp: { display: 'Arboviren (sonstige)', name: 'Arboviren, sonstige' },
  astp: { display: 'Astroviren', name: 'Astroviren', federalStates: ['DE-SN'] },
  banp: { display: 'Bacillus anthracis', name: 'Bacillus anthracis' },
  bpsp: { display: 'Bordetella pertussis, Bordetella parapertussis', name: 'Bordetella pertussis/parapertussis' },
  bovp: { display: 'humanpathogene Bornaviren; Meldepflicht nur für den direkten Nachweis', name: 'Bornaviren' },
  borp: { display: 'Borrelia recurrentis', name: 'Borrelia recurrentis' },
  bobp: {
    display: '(Lyme-) Borreliose, Borrelia burgdorferi',
    name: 'Borrelia burgdorferi',
    federalStates: ['DE-RP', 'DE-BY', 'DE-SL', 'DE-BE', 'DE-BB', 'DE-MV', 'DE-SN', 'DE-ST', 'DE-TH'],
  },
  brup: { display: 'Brucella sp.', name: 'Brucella sp.' },
  camp: { display: 'Campylobacter spp. (darmpathogen)', name: 'Campylobacter spp., darmpathogen' },
  caup: { display: 'Candida auris; Meldepflicht nur für den direkten Nachweis', name: 'Candida auris' },
  ckvp: { display: 'Chikungunya-Virus', name: 'Chikungunya-Virus' },
  chlp: { display: 'Chlamydia psittaci', name: 'Chlamydia psittaci' },
  clop: { display: 'Clostridium botulinum oder Toxinnachweis', name: 'Clostridium botulinum' },
  cltp: {
    display: 'Tetanus, Clostridium tetani',
    name: 'Clostridium tetani',
    federalStates: ['DE-MV', 'DE-SN', 'DE-ST'],
  },
  corp: { display: 'Corynebacterium spp. (Toxin bildend)', name: 'Corynebacterium spp., Toxin bildend' },
  coxp: { display: 'Coxiella burnetii', name: 'Coxiella burnetii' },
  cryp: { display: 'humanpathogene Cryptosporidium sp.', name: 'Cryptosporidium sp., humanpathogen' },
  cymp: { display: 'Cytomegalie, Cytomegalievirus', name: 'Cytomegalievirus (CMV)', federalStates: ['DE-SN'] },
  denp: { display: 'Denguevirus', name: 'Denguevirus' },
  ecop: { display: 'Escherichia coli (sonstige darmpathogene Stämme)', name: 'E. coli, sonstige' },
  ehcp: { display: 'Escherichia coli (enterohämorrhagische Stämme) (EHEC)', name: 'E. coli, enterohämorrhagisch' },
  ebvp: { display: 'Ebolavirus', name: 'Ebolavirus' },
  eahp: {
    display: 'Amoebiasis, Entamoeba histolytica',
    name: 'Entamoeba histolytica',
    federalStates: ['DE-MV', 'DE-SN', 'DE-ST'],
  },
  ebcp: {
    display:
      'Enterobacterales bei Nachweis einer Carbapenemase-Determinante oder mit verminderter Empfindlichkeit gegenüber Carbapenemen außer bei natürlicher Resistenz; Meldepflicht nur bei Infektion oder Kolonisation',
    name: 'Enterobacterales, Carbapenem',
  },
  etvp: { display: 'Enteroviren', name: 'Enteroviren', federalStates: ['DE-SN', 'DE-ST', 'DE-TH'] },
  hfap: { display: 'Andere Erreger hämorrhagischer Fieber', name: 'Erreger hämorrhagischer Fieber' },
  frtp: { display: 'Francisella tularensis', name: 'Francisella tularensis' },
  fsvp: { display: 'FSME-Virus', name: 'FSME-Virus' },
  gbsp: {
    display:
      'Gruppe-B-Streptokokken (GBS); Meldepflicht nur für den direkten Nachweis bei Schwangeren und Neugeborenen',
    name: 'Gruppe-B-Streptokokken (GBS)',
    federalStates: ['DE-SN'],
  },
  gfvp: { display: 'Gelbfiebervirus', name: 'Gelbfiebervirus' },
  gilp: { display: 'Giardia lamblia', name: 'Giardia lamblia' },
  hinp: {
    display: 'Haemophilus influenzae; Meldepflicht nur für den direkten Nachweis aus Liquor oder Blut',
    name: 'Haemophilus influenzae',
  },
  htvp: { display: 'Hantavirus', name: 'Hantavirus' },
  havp: { display: 'Hepatitis-A-Virus', name: 'Hepatitis-A-Virus' },
  hbvp: { display: 'Hepatitis-B-Virus; Meldepflicht für alle Nachweise', name: 'Hepatitis-B-Virus' },
  hcvp: { display: 'Hepatitis-C-Virus; Meldepflicht für alle Nachweise', name: 'Hepatitis-C-Virus' },
  hdvp: { display: 'Hepatitis-D-Virus; Meldepflicht für alle Nachweise', name: 'Hepatitis-D-Virus' },
  hevp: { display: 'Hepatitis-E-Virus', name: 'Hepatitis-E-Virus' },
  invp: { display: 'Influenzavirus; Meldepflicht nur für den direkten Nachweis', name: 'Influenzavirus' },
  lsvp: { display: 'Lassavirus', name: 'Lassavirus' },
  legp: { display: 'Legionella sp.', name: 'Legionella sp.' },
  lepp: { display: 'humanpathogene Leptospira sp.', name: 'Leptospira sp., humanpathogen' },
  lisp: {
    display:
      'Listeria monocytogenes; Meldepflicht nur für den direkten Nachweis aus Blut, Liquor oder anderen normalerweise sterilen Substraten sowie aus Abstrichen von Neugeborenen',
    name: 'Listeria monocytogenes',
  },
  plap: { display: 'Plasmodium spp. (Malaria)', name: 'Malaria' },
  mbvp: { display: 'Marburgvirus', name: 'Marburgvirus' },
  msvp: { display: 'Masernvirus', name: 'Masernvirus' },
  mrsp: { display: 'Middle-East-Respiratory-Syndrome-Coronavirus (MERS-CoV)', name: 'MERS-CoV' },
  mpxp: { display: 'Orthopockenviren (Mpoxvirus)', name: 'Mpoxvirus' },
  mrap: {
    display:
      'Staphylococcus aureus (Methicillin-resistente Stämme); Meldepflicht nur für den Nachweis aus Blut oder Liquor',
    name: 'MRSA',
  },
  mpvp: { display: 'Mumpsvirus', name: 'Mumpsvirus' },
  mylp: { display: 'Mycobacterium leprae', name: 'Mycobacterium leprae' },
  mytp: {
    display:
      'Mycobacterium tuberculosis, Mycobacterium africanum, Mycobacterium bovis; Meldepflicht für den direkten Erregernachweis sowie nachfolgend für das Ergebnis der Resistenzbestimmung; vorab auch für den Nachweis säurefester Stäbchen im Sputum',
    name: 'Mycobacterium tuberculosis',
  },
  mpmp: { display: 'Mycoplasmen', name: 'Mycoplasmen', federalStates: ['DE-SN'] },
  neip: {
    display:
      'Neisseria meningitidis; Meldepflicht nur für den direkten Nachweis aus Liquor, Blut, hämorrhagischen Hautinfiltraten oder anderen normalerweise sterilen Substraten',
    name: 'Neisseria meningitidis',
  },
  novp: { display: 'Norovirus', name: 'Norovirus' },
  opxp: { display: 'Orthopockenviren (sonstige Orthopockenviren)', name: 'Orthopockenvirus, sonstige' },
  pinp: { display: 'Parainfluenzavirus', name: 'Parainfluenza', federalStates: ['DE-SN'] },
  povp: { display: 'Poliovirus', name: 'Poliovirus' },
  rbvp: { display: 'Rabiesvirus', name: 'Rabiesvirus' },
  ricp: { display: 'Rickettsia prowazekii', name: 'Rickettsia prowazekii' },
  pvbp: { display: 'Ringelröteln, Parvovirus B 19', name: 'Parvovirus B 19', federalStates: ['DE-SN'] },
  rtvp: { display: 'Rotavirus', name: 'Rotavirus' },
  rsvp: { display: 'Respiratorisches-Synzytial-Virus', name: 'RSV' },
  ruvp: { display: 'Rubellavirus', name: 'Rubellavirus' },
  spap: { display: 'Salmonella Paratyphi; Meldepflicht für alle direkten Nachweise', name: 'Salmonella Paratyphi' },
  styp: { display: 'Salmonella Typhi; Meldepflicht für alle direkten Nachweise', name: 'Salmonella Typhi' },
  salp: { display: 'Salmonella (sonstige)', name: 'Salmonella, sonstige' },
  cvdp: { display: 'Severe-Acute-Respiratory-Syndrome-Coronavirus-2 (SARS-CoV-2)', name: 'SARS-CoV-2' },
  cvsp: { display: 'Severe-Acute-Respiratory-Syndrome-Coronavirus-1 (SARS-CoV-1) (2003)', name: 'SARS-CoV-1 (2003)' },
  spyp: {
    display: 'Scharlach, Beta-hämolysierenden Streptokokken der Gruppe A',
    name: 'Streptokokken der Gruppe A (GAS)',
    federalStates: ['DE-ST', 'DE-TH'],
  },
  ship: { display: 'Shigella sp.', name: 'Shigella sp.' },
  spnp: {
    display:
      'Streptococcus pneumoniae; Meldepflicht nur für den direkten Nachweis aus Liquor, Blut, Gelenkpunktat oder anderen normalerweise sterilen Substraten',
    name: 'Streptococcus pneumoniae',
  },
  trip: { display: 'Trichinella spiralis', name: 'Trichinella spiralis' },
  pkvp: { display: 'Orthopockenviren (Variolavirus)', name: 'Variolavirus' },
  vzvp: { display: 'Varizella-Zoster-Virus', name: 'Varizella-Zoster-Virus' },
  ncvp: {
    display:
      'Vibrio spp., humanpathogen (außer Erreger der Cholera); soweit ausschließlich eine Ohrinfektion vorliegt, nur bei Vibrio cholerae non O1/non-O139',
    name: 'Vibrio spp. (außer Erreger der Cholera)',
  },
  vchp: { display: 'Vibrio cholerae', name: 'Vibrio cholerae' },
  wbkp: {
    display:
      'Krankheitserreger unter Berücksichtigung der Art der Krankheitserreger und der Häufigkeit ihres Nachweises wenn Hinweise auf eine schwerwiegende Gefahr für die Allgemeinheit bestehen',
    name: 'Weitere bedrohliche Erreger',
  },
  wnvp: { display: 'West-Nil-Virus', name: 'West-Nil-Virus' },
  ypsp: { display: 'Yersinia pestis', name: 'Yersinia pestis' },
  yenp: { display: 'Yersinia spp. (darmpathogen)', name: 'Yersinia spp., darmpathogen' },
  zkvp: { display: 'Zika-Virus', name: 'Zika-Virus' },
};

/** notificationDiseaseCategory: the diseases of §6 IfSG notifications (code ends in `d`). */
export const DISEASE_CATEGORIES: Readonly<Record<string, DemisCode>> = {
  band: { display: 'Milzbrand', name: 'Milzbrand' },
  bpsd: { display: 'Keuchhusten', name: 'Keuchhusten' },
  cdfd: {
    display: 'Clostridioides-difficile-Erkrankung, schwere Verlaufsform',
    name: 'Clostridioides-difficile-Erkrankung, schwere Verlaufsform',
  },
  cjkd: { display: 'Creutzfeldt-Jakob-Krankheit (CJK)', name: 'Creutzfeldt-Jakob-Krankheit (CJK)' },
  clod: { display: 'Botulismus', name: 'Botulismus' },
  cord: { display: 'Diphtherie', name: 'Diphtherie' },
  cvdd: { display: 'Coronavirus-Krankheit-2019 (COVID-19)', name: 'Coronavirus-Krankheit-2019 (COVID-19)' },
  dend: { display: 'Denguefieber', name: 'Denguefieber' },
  ebvd: { display: 'Ebolafieber', name: 'Ebolafieber' },
  gfvd: { display: 'Gelbfieber', name: 'Gelbfieber' },
  havd: { display: 'Hepatitis A', name: 'Hepatitis A' },
  hbvd: { display: 'Hepatitis B', name: 'Hepatitis B' },
  hcvd: { display: 'Hepatitis C', name: 'Hepatitis C' },
  hdvd: { display: 'Hepatitis D', name: 'Hepatitis D' },
  hevd: { display: 'Hepatitis E', name: 'Hepatitis E' },
  hfad: { display: 'Hämorrhagisches Fieber', name: 'Hämorrhagisches Fieber' },
  htvd: {
    display: 'Hantavirus-Erkrankung, hämorrhagischer Verlauf',
    name: 'Hantavirus-Erkrankung, hämorrhagischer Verlauf',
  },
  husd: { display: 'Hämolytisch-urämisches Syndrom (HUS)', name: 'Hämolytisch-urämisches Syndrom (HUS)' },
  hxxd: { display: 'Akute Virushepatitis', name: 'Akute Virushepatitis' },
  izvd: { display: 'Zoonotische Influenza', name: 'Zoonotische Influenza' },
  lsvd: { display: 'Lassafieber', name: 'Lassafieber' },
  mbvd: { display: 'Marburgfieber', name: 'Marburgfieber' },
  mpvd: { display: 'Mumps', name: 'Mumps' },
  mpxd: { display: 'Mpox', name: 'Mpox' },
  msvd: { display: 'Masern', name: 'Masern' },
  mybd: { display: 'Tuberkulose, bei Behandlungsabbruch', name: 'Tuberkulose, bei Behandlungsabbruch' },
  mytd: { display: 'Tuberkulose', name: 'Tuberkulose' },
  neid: { display: 'Meningokokken, invasive Erkrankung', name: 'Meningokokken, invasive Erkrankung' },
  opxd: { display: 'Orthopocken, andere', name: 'Orthopocken, andere' },
  pkvd: { display: 'Pocken', name: 'Pocken' },
  povd: { display: 'Poliomyelitis', name: 'Poliomyelitis' },
  rbvd: { display: 'Tollwut', name: 'Tollwut' },
  rund: { display: 'Röteln, konnatal', name: 'Röteln, konnatal' },
  ruvd: { display: 'Röteln, postnatal', name: 'Röteln, postnatal' },
  spad: { display: 'Paratyphus', name: 'Paratyphus' },
  sspd: {
    display: 'Subakute sklerosierende Panenzephalitis (SSPE)',
    name: 'Subakute sklerosierende Panenzephalitis (SSPE)',
  },
  styd: { display: 'Typhus', name: 'Typhus' },
  sxxd: { display: 'Paratyphus/Typhus, nicht differenziert', name: 'Paratyphus/Typhus, nicht differenziert' },
  ttvd: { display: 'Tollwutexpositionsverdacht', name: 'Tollwutexpositionsverdacht' },
  vchd: { display: 'Cholera', name: 'Cholera' },
  vzwd: { display: 'Windpocken', name: 'Windpocken' },
  vzzd: { display: 'Herpes Zoster', name: 'Herpes Zoster', federalStates: ['DE-BB', 'DE-SN', 'DE-ST'] },
  ypsd: { display: 'Pest', name: 'Pest' },
};
