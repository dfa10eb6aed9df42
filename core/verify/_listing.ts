/**
 * The names `getSpaces` and `getSegments` list, checked as they are read.
 *
 * @module
 */

import { compareKeys } from "../codec/lexkey.ts";
import { validateName } from "../names.ts";
import { corruption, type ProblemLog } from "./_problem_log.ts";
import { nameBytes } from "./_wording.ts";

/**
 * The valid names of a listing, each once; a name that is invalid, repeated or out of ascending
 * UTF-8 order is a problem (an out-of-order name is still checked). `space` is the space whose
 * segments `names` lists, `undefined` for the listing of spaces.
 */
export async function* listedNames(
  log: ProblemLog,
  names: AsyncIterable<string>,
  listing: string,
  space: string | undefined,
): AsyncIterable<string> {
  const report = (name: string, problem: string) =>
    space === undefined
      ? log.add(name, undefined, undefined, problem)
      : log.add(space, name, undefined, problem);
  let previous: Uint8Array | undefined;
  let previousName = "";
  try {
    for await (const name of names) {
      try {
        validateName("name", name);
      } catch (error) {
        report(name, `${listing} lists an invalid name: ${(error as Error).message}`);
        continue;
      }
      const bytes = nameBytes(name);
      const order = previous === undefined ? 1 : compareKeys(bytes, previous);
      if (order === 0) {
        report(name, `${listing} lists it twice`);
        continue;
      }
      if (order < 0) {
        report(name, `${listing} lists it after ${JSON.stringify(previousName)}: out of order`);
      } else {
        previous = bytes;
        previousName = name;
      }
      yield name;
    }
  } catch (error) {
    const past = previous === undefined ? "" : ` past ${JSON.stringify(previousName)}`;
    const problem = `${listing} cannot be read${past}: ${corruption(error)}`;
    if (space === undefined) log.add("", undefined, undefined, problem);
    else log.add(space, undefined, undefined, problem);
  }
}
