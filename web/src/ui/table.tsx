// A table of items: a header row of column names and one row per item (the
// caller renders the row, with its key); instead, a sentence when there are none.
import type { ReactNode } from 'react';

export function Table<T>({
  items,
  headers,
  row,
  none,
  caption,
}: {
  items: T[];
  headers: string[];
  row: (item: T) => ReactNode;
  none?: string;
  caption?: string;
}) {
  if (items.length === 0 && none !== undefined) return <p>{none}</p>;
  return (
    <table>
      {caption && <caption className="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          {headers.map((h, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a header is its column; the columns never move
            <th key={i} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{items.map(row)}</tbody>
    </table>
  );
}
