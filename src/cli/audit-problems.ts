// Issue 19: s23-german-cli — what `kartei audit verify` says is wrong with a broken chain, in the
// operator's language. The problem strings of src/audit/verify*.ts stay as they are: stable, English
// and machine-facing (the witness keeps them, the alarm logs them); only the command's words change.
// A problem without German words here (none known) is said as it is.
import { currentCliLang } from './messages.ts';

/** Each known problem of src/audit/verify.ts, verify-range.ts and verify-tail.ts, in German. */
export const AUDIT_PROBLEMS_DE: Record<string, string> = {
  'event missing': 'ein Ereignis fehlt',
  'event altered': 'das Ereignis wurde verändert',
  'event altered or made without the chain key':
    'das Ereignis wurde verändert oder ohne den Schlüssel der Kette geschrieben',
  'event differs from signed checkpoint': 'das Ereignis weicht vom signierten Prüfpunkt ab',
  'link to previous event broken': 'die Verknüpfung mit dem vorigen Ereignis ist gebrochen',
  'checkpoint signature does not verify': 'die Signatur des Prüfpunkts lässt sich nicht bestätigen',
  'last checkpoint signature does not verify': 'die Signatur des letzten Prüfpunkts lässt sich nicht bestätigen',
  'checkpoint signed by a retired key after its successor':
    'der Prüfpunkt ist mit einem stillgelegten Schlüssel signiert, nachdem sein Nachfolger galt',
  'checkpoint at the witnessed head signed by another key than the witness names':
    'der Prüfpunkt am bezeugten Kettenende ist mit einem anderen Schlüssel signiert, als der Zeuge nennt',
  'signed checkpoint missing': 'ein signierter Prüfpunkt fehlt',
  'events missing before a signed checkpoint': 'vor einem signierten Prüfpunkt fehlen Ereignisse',
  'events missing before the head witnessed outside the database':
    'vor dem außerhalb der Datenbank bezeugten Kettenende fehlen Ereignisse',
  'chain head behind the last signed checkpoint': 'das Kettenende liegt vor dem letzten signierten Prüfpunkt',
  'chain head disagrees with the last event': 'das Kettenende stimmt nicht mit dem letzten Ereignis überein',
  'chain head disagrees with the events: events missing':
    'das Kettenende stimmt nicht mit den Ereignissen überein: Ereignisse fehlen',
  'chain head disagrees with the events: event beyond the head':
    'das Kettenende stimmt nicht mit den Ereignissen überein: ein Ereignis liegt hinter dem Kettenende',
};

/** A broken chain's problem in the chosen language: German from the table, else as it is. */
export function auditProblemText(problem: string): string {
  return currentCliLang() === 'de' ? (AUDIT_PROBLEMS_DE[problem] ?? problem) : problem;
}
