// Statements keep their plan when rebound: every positional parameter becomes `+?`,
// and nothing inside a literal, a quoted name or a comment changes. On SQLite the
// rewritten statements answer exactly what the plain ones do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { fixedPlan } from '../../src/db/fixed-plans.ts';

test('each positional parameter is written +?, also numbered ones', () => {
  assert.equal(
    fixedPlan('select * from t where a = ? and b in (?, ?) limit ?'),
    'select * from t where a = +? and b in (+?, +?) limit +?',
  );
  assert.equal(fixedPlan('values (?1, ?2)'), 'values (+?1, +?2)');
  assert.equal(fixedPlan('select a-?, a+?'), 'select a-+?, a++?');
});

test('literals, quoted names and comments are left as they are', () => {
  const untouched = [
    "select 'a ? b', 'it''s ?' from t",
    'select "col?", "q""?" from t',
    'select `x?`, [y?] from t',
    "select x'3f' -- why?\nfrom t",
    'select /* ? */ 1',
  ];
  for (const sql of untouched) assert.equal(fixedPlan(sql), sql);
  assert.equal(fixedPlan("select '?' || ? -- ?\n, ?"), "select '?' || +? -- ?\n, +?");
  assert.equal(fixedPlan("select 'unterminated ?"), "select 'unterminated ?");
});

test('SQLite answers the same with +? as with ?: values, types, comparisons, limits', () => {
  const db = new SQLite(':memory:');
  db.exec(`create table t (id text primary key, n integer, r real, b blob, s text collate nocase);
    create table u (id text primary key, t_id text, flag integer);
    insert into t values ('a', 1, 1.5, x'00ff', 'Abc'), ('b', 2, 2.5, null, 'def'), ('10', 10, 0, x'', 'ABC');
    insert into u values ('x', 'a', 1), ('y', 'b', 0), ('z', '10', 1);`);
  const queries: [string, unknown[]][] = [
    ['select * from t where id = ?', ['a']],
    ['select * from t where n = ?', ['10']], // integer affinity applied to the text value
    ['select * from t where id = ?', [10]], // text affinity applied to the number
    ['select * from t where s = ?', ['abc']], // the column's collation
    ['select * from t where b = ?', [Buffer.from([0, 255])]],
    ['select * from t where r > ? order by id', [1]],
    ['select * from t join u on u.t_id = t.id where t.id = ? and u.flag = ?', ['a', 1]],
    ['select * from t left join u on u.t_id = t.id and u.flag = ? where t.n >= ? order by t.id', [1, 2]],
    ['select * from t where id in (?, ?) order by id limit ? offset ?', ['a', 'b', 1, 1]],
    ['select ? as v, typeof(?) as ty, -? as neg', [3, 'x', 4]],
    ['select ? is null as nul', [null]],
  ];
  for (const [sql, args] of queries)
    assert.deepEqual(db.prepare(fixedPlan(sql)).all(...args), db.prepare(sql).all(...args), sql);
  // The plan stays the one the indexes give: lookups by key, no scan.
  const plan = (sql: string) =>
    (db.prepare(`explain query plan ${sql}`).all('a', 1) as { detail: string }[]).map((r) => r.detail);
  const join = 'select * from t join u on u.t_id = t.id where t.id = ? and u.flag = ?';
  db.exec('create index u_t on u (t_id)');
  assert.deepEqual(plan(fixedPlan(join)), plan(join));
  assert.ok(
    plan(fixedPlan(join)).every((d) => d.startsWith('SEARCH')),
    plan(fixedPlan(join)).join('; '),
  );
  db.exec('create table w (k text primary key, v integer)');
  db.prepare(fixedPlan('insert into w (k, v) values (?, ?)')).run('k', '7');
  assert.deepEqual(db.prepare('select typeof(v) as t from w').get(), { t: 'integer' });
  db.close();
});
