// Attacks on fixed-plans.ts's text rewrite (each `?` written `+?`) beyond the
// cases its own test pins: a parameter with its own collation or on the right of
// a collated column, LIKE with ESCAPE, GLOB, BETWEEN, IS / IS NOT NULL, NOT IN,
// JSON operators and paths, CASE, row values, EXISTS, a negative LIMIT, unary
// operators and casts, text against an integer column. SQLite answers each the
// same either way. The one visible difference, an unnamed result column (`?` vs
// `+?`), is pinned: Kartei selects parameters only under a name (Kysely's `as`),
// and its raw statements on SQLite select none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { fixedPlan } from '../../src/db/fixed-plans.ts';

test('SQLite answers the same with +? as with ?, also where precedence, collation or affinity could tell', () => {
  const db = new SQLite(':memory:');
  db.exec(`create table t (id text primary key, n integer, s text collate nocase, j text, p text);
    insert into t values ('a', 1, 'Abc', '{"k":"v","a":[1,2]}', 'a_b'), ('b', 2, 'def', '{"k":"w"}', 'a%b'),
      ('c', null, 'ABC', null, 'xyz');`);
  const queries: [string, unknown[]][] = [
    ['select id from t where ? = s order by id', ['abc']], // the column's collation from the right
    ['select id from t where id = ? collate nocase', ['A']], // COLLATE binds tighter than unary +
    ['select id from t where s = ? collate binary', ['abc']],
    ['select id from t where p like ? escape ? order by id', ['a!_b', '!']],
    ['select id from t where s glob ? order by id', ['A*']],
    ['select id from t where n between ? and ? order by id', [1, 2]],
    ["select case ? when 1 then 'one' else 'other' end as c", [1]],
    ['select id from t where n is not ? order by id', [null]],
    ['select id from t where n is ? order by id', [null]],
    ['select id from t where id not in (?, ?) order by id', ['a', 'b']],
    ['select j->>? as v from t where id = ?', ['$.k', 'a']],
    ['select j->? as v from t where id = ?', ['$.a', 'a']],
    ['select json_extract(j, ?) as v from t where id = ?', ['$.a[1]', 'a']],
    ['select coalesce(n, ?) as v from t order by id', [9]],
    ['select id from t order by ?', [1]], // a constant, not the first column, either way
    ['select -?-? as v, ?||? as w, not ? as x, ~? as y', [1, 2, 'a', 'b', 0, 1]],
    ['select cast(? as integer) as v', ['12x']],
    ['select id from t where (n, s) = (?, ?)', [1, 'abc']],
    ['select id from t where n in (select ?)', [1]],
    ['select id from t where exists (select 1 where ?) order by id', [0]],
    ['select id from t order by id limit ?', [-1]],
    ['select typeof(?) as ty, ? = 1 as eq', ['1', '1']],
    ['select id from t where n = ?', ['1']],
    ['select id from t where n > ? order by id', ['1']],
  ];
  for (const [sql, args] of queries)
    assert.deepEqual(db.prepare(fixedPlan(sql)).all(...args), db.prepare(sql).all(...args), sql);
  // An unnamed result column is named by its text: the one difference, never read by Kartei (Kysely names each).
  assert.deepEqual(db.prepare(fixedPlan('select ?')).all(5), [{ '+?': 5 }]);
  assert.deepEqual(db.prepare(fixedPlan('select ? as v')).all(5), [{ v: 5 }]);
  db.close();
});

test('text that only looks like a parameter stays as it is: blob literals, doubled quotes, nested-looking comments', () => {
  const untouched = [
    "select x'3f3f' as b",
    "select 'a''?''b' as s",
    'select "a""?" from t',
    'select 1 /* a ? /* b ? */',
    'select 1 -- ? at the end, no newline ?',
  ];
  for (const sql of untouched) assert.equal(fixedPlan(sql), sql);
  assert.equal(fixedPlan('select 1 /* ? */ + ? /* ? */'), 'select 1 /* ? */ + +? /* ? */');
  assert.equal(fixedPlan("select '' || ?"), "select '' || +?");
});
