// Queries on the hot path (every gated request runs a dozen) are built and
// compiled by Kysely once, then executed with fresh parameters: building a
// query costs more than running it on SQLite. The query is compiled with a
// unique marker in place of each argument; the compiled parameter list then
// says which argument goes where. Values stay parameters: nothing is spliced
// into SQL text.
import { createQueryId, type Compilable, type Kysely, type RootOperationNode } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database>;

/** A statement on the SQLite connection itself (better-sqlite3's), as the group committer's transactions have. */
export interface DirectStatement {
  readonly reader: boolean;
  all(parameters: readonly unknown[]): unknown[];
  run(parameters: readonly unknown[]): unknown;
}

/** The connections a caller holds alone for the moment (a group commit's batch): their statements, by SQL text. */
const directs = new WeakMap<object, (sql: string) => DirectStatement>();

/**
 * Lets prepared queries on `db` run on the connection's own statements, not through Kysely's
 * executor (its connection hand-over, result plugins and awaits cost ~1–3 µs a query, as much as
 * a lookup by key). Only for a connection whose holder runs nothing else on it meanwhile: the group
 * committer's, inside its batch, where Kysely would run the very same statement on the same
 * connection. Everything else (PostgreSQL, the autocommit reads on `store.db`) goes through Kysely.
 */
export function runDirectly(db: Db, statement: (sql: string) => DirectStatement): void {
  directs.set(db, statement);
}

interface Plan {
  sql: string;
  query: RootOperationNode;
  /** For each compiled parameter: the argument index, or a constant of the query itself. */
  slots: ({ arg: number } | { value: unknown })[];
}

export function prepared<A extends unknown[], R>(build: (db: Db, ...args: A) => Compilable<R>) {
  // One plan per dialect (its adapter), should a process ever hold both.
  const plans = new WeakMap<object, Plan>();
  return async (db: Db, ...args: A): Promise<R[]> => {
    const adapter = db.getExecutor().adapter;
    let plan = plans.get(adapter);
    if (!plan) {
      plan = compilePlan(build, db, args.length);
      plans.set(adapter, plan);
    }
    const parameters = plan.slots.map((s) => ('arg' in s ? args[s.arg] : s.value));
    const direct = directs.get(db);
    if (direct) {
      const stmt = direct(plan.sql);
      if (stmt.reader) return stmt.all(parameters) as R[];
      stmt.run(parameters);
      return [];
    }
    const result = await db.executeQuery<R>({ sql: plan.sql, query: plan.query, parameters, queryId: createQueryId() });
    return result.rows;
  };
}

function compilePlan<A extends unknown[], R>(
  build: (db: Db, ...args: A) => Compilable<R>,
  db: Db,
  arity: number,
): Plan {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000kartei-argument-${i}\u0000`);
  const compiled = build(db, ...(markers as A)).compile();
  const used = new Set<number>();
  const slots = compiled.parameters.map((p) => {
    const arg = markers.indexOf(p as string);
    if (arg >= 0) used.add(arg);
    return arg >= 0 ? { arg } : { value: p };
  });
  if (used.size !== arity) throw new Error('prepared query: an argument is not used as a parameter');
  return { sql: compiled.sql, query: compiled.query, slots };
}
