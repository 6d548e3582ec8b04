// What the types said before they followed the options: each expectType here
// is wrong now, and test/types.test.ts checks that tsd reports every one
// (the line of each is marked), so the assertions of options.test-d.ts can fail.
import { expectType } from 'tsd';
import { walk, type BigIntStats, type Stats, type UnshareFsError } from '../../..';

export async function wrong(error: UnshareFsError): Promise<void> {
  for await (const entry of walk('/', { stat: true })) expectType<Stats | undefined>(entry.stats); // fails
  for await (const entry of walk('/', { stat: ['size'] })) expectType<Stats>(entry.stats); // fails
  for await (const entry of walk('/', { stat: true, bigint: true })) expectType<Stats>(entry.stats); // fails
  for await (const entry of walk('/')) expectType<Stats | BigIntStats | undefined>(entry.stats); // fails
  expectType<string>(error.code); // fails
}
