// Issue 17: letters — the four starting templates an office gets on first use ("Mustervorlagen anlegen"):
// an invitation to a chest X-ray screening, the medical certificate under § 36 Abs. 4 IfSG, an isolation
// order under § 30 IfSG with its Rechtsbehelfsbelehrung, and the cover letter of an expert opinion that tells
// the commissioning authority the result only. Editable afterwards like any template (a new version each
// save); the letterhead's address lines are placeholders for the office to fill in.
import type { TemplateContent } from '../contract/letters.ts';
import type { TemplateKind } from './template-fields.ts';

export function STARTER_TEMPLATES(officeName: string): { kind: TemplateKind; content: TemplateContent }[] {
  const letterhead: TemplateContent['letterhead'] = {
    officeName,
    addressLines: ['{{department.name}}', 'Anschrift des Gesundheitsamts'],
  };
  const senderLine = `${officeName} · Anschrift des Gesundheitsamts`;
  const signature = 'Mit freundlichen Grüßen\nIm Auftrag\n\n\n{{user.displayName}}';
  const starters: { kind: TemplateKind; content: TemplateContent }[] = [
    {
      kind: 'invitation',
      content: {
        name: 'Einladung zur Röntgenuntersuchung der Lunge',
        letterhead,
        senderLine,
        subject: 'Einladung zur Untersuchung auf Lungentuberkulose',
        body: [
          '{{person.salutation}}',
          'wir bitten Sie, sich zu einer Untersuchung auf Lungentuberkulose einschließlich einer Röntgenaufnahme ' +
            'der Lunge im Gesundheitsamt, {{department.name}}, vorzustellen. Bitte vereinbaren Sie dafür innerhalb ' +
            'von zwei Wochen nach Erhalt dieses Schreibens telefonisch einen Termin.',
          'Bitte bringen Sie Ihren Personalausweis oder ein anderes Ausweisdokument, dieses Schreiben und, falls ' +
            'vorhanden, frühere Röntgenbilder oder Befunde mit. Wenn Sie den Termin nicht wahrnehmen können, ' +
            'melden Sie sich bitte vorher bei uns, damit wir einen neuen Termin vereinbaren können.',
          'Bei Fragen erreichen Sie uns zu den üblichen Sprechzeiten.',
        ].join('\n\n'),
        signature,
      },
    },
    {
      kind: 'certificate-36',
      content: {
        name: 'Ärztliches Zeugnis nach § 36 Abs. 4 IfSG',
        letterhead,
        senderLine,
        subject: 'Ärztliches Zeugnis nach § 36 Abs. 4 Infektionsschutzgesetz (IfSG)',
        body: [
          'Frau/Herr {{person.givenName}} {{person.familyName}}, geboren am {{person.birthDate}}, wurde am ' +
            '{{record.date}} auf das Vorliegen einer ansteckungsfähigen Lungentuberkulose untersucht ' +
            '(Untersuchungsmethode: {{record.method}}; Ergebnis: {{record.result}}).',
          'Es wird bescheinigt, dass bei der untersuchten Person keine Anhaltspunkte für das Vorliegen einer ' +
            'ansteckungsfähigen Lungentuberkulose vorhanden sind.',
          'Das Zeugnis dient der Vorlage bei der Leitung einer Einrichtung nach § 36 Abs. 1 IfSG vor oder ' +
            'unverzüglich nach der Aufnahme (§ 36 Abs. 4 IfSG). Bei Personen, die das 15. Lebensjahr vollendet ' +
            'haben und in eine Gemeinschaftsunterkunft für Asylbegehrende oder Geflüchtete aufgenommen werden, ' +
            'stützt es sich auf eine im Geltungsbereich des Infektionsschutzgesetzes erstellte Röntgenaufnahme ' +
            'der Lunge; diese Personen sind verpflichtet, die ärztliche Untersuchung einschließlich der ' +
            'Röntgenaufnahme zu dulden (§ 36 Abs. 4 und 5 IfSG).',
        ].join('\n\n'),
        signature: 'Im Auftrag\n\n\n{{user.displayName}}\n{{department.name}}',
      },
    },
    {
      kind: 'isolation-order-30',
      content: {
        name: 'Anordnung der Absonderung nach § 30 IfSG',
        letterhead,
        senderLine,
        subject: 'Anordnung der Absonderung (Isolierung) nach § 30 Infektionsschutzgesetz (IfSG)',
        body: [
          '{{person.salutation}}',
          'hiermit ordnen wir gegenüber Ihnen, {{person.givenName}} {{person.familyName}}, geboren am ' +
            '{{person.birthDate}}, wohnhaft {{person.street}}, {{person.postalCode}} {{person.city}}, folgende ' +
            'Maßnahme an:',
          '1. Sie haben sich ab dem {{record.isolationFrom}} bis einschließlich {{record.isolationUntil}} in Ihrer ' +
            'Wohnung abzusondern. Sie dürfen die Wohnung in dieser Zeit ohne ausdrückliche Zustimmung des ' +
            'Gesundheitsamts nicht verlassen und keinen Besuch von Personen empfangen, die nicht Ihrem Haushalt ' +
            'angehören.\n2. Diese Anordnung ist sofort vollziehbar.',
          'Begründung: Bei Ihnen wurde eine Erkrankung an bzw. ein Nachweis von {{record.disease}} festgestellt. ' +
            'Nach § 30 Abs. 1 IfSG in Verbindung mit § 28 Abs. 1 IfSG (hier: {{record.legalBasis}}) kann die ' +
            'zuständige Behörde anordnen, dass Kranke, Krankheitsverdächtige, Ansteckungsverdächtige und ' +
            'Ausscheider in geeigneter Weise abgesondert werden. Die Absonderung ist erforderlich und ' +
            'angemessen, um die Weiterverbreitung der Krankheit zu verhindern; ein milderes, gleich wirksames ' +
            'Mittel steht nicht zur Verfügung.',
          'Hinweise: Widerspruch und Anfechtungsklage gegen diese Anordnung haben keine aufschiebende Wirkung ' +
            '(§ 16 Abs. 8 in Verbindung mit § 28 Abs. 3 IfSG). Wer der Anordnung nicht nachkommt, kann nach ' +
            '§ 30 Abs. 2 IfSG zwangsweise in einem geschlossenen Krankenhaus oder einer anderen geeigneten ' +
            'Einrichtung abgesondert werden; ein Verstoß kann nach § 75 Abs. 1 Nr. 1 IfSG bestraft werden.',
          'Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe ' +
            'Widerspruch erhoben werden. Der Widerspruch ist schriftlich, in elektronischer Form nach § 3a Abs. 2 ' +
            'des Verwaltungsverfahrensgesetzes oder zur Niederschrift beim Gesundheitsamt, ' +
            '{{department.name}}, einzulegen. Sie können beim Verwaltungsgericht beantragen, die aufschiebende ' +
            'Wirkung des Widerspruchs anzuordnen (§ 80 Abs. 5 VwGO).',
        ].join('\n\n'),
        signature,
      },
    },
    {
      kind: 'expert-opinion-cover',
      content: {
        name: 'Anschreiben zum Gutachten (an die auftraggebende Stelle)',
        letterhead,
        senderLine,
        subject:
          'Amtsärztliche Begutachtung von {{person.givenName}} {{person.familyName}}, geboren am {{person.birthDate}}',
        body: [
          'Sehr geehrte Damen und Herren,',
          'mit Schreiben vom {{record.requestedOn}} hat {{record.requestedBy}} uns um eine amtsärztliche ' +
            'Begutachtung der oben genannten Person gebeten.',
          'Ergebnis der Begutachtung: {{record.result}}',
          'Aus Gründen der ärztlichen Schweigepflicht teilen wir Ihnen nur das Ergebnis mit. Diagnosen und ' +
            'Befunde sind nicht Gegenstand dieser Mitteilung; sie verbleiben beim Gesundheitsamt.',
        ].join('\n\n'),
        signature,
      },
    },
  ];
  return starters;
}
