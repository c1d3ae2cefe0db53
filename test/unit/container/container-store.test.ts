import t from 'tap'
import {findContainer, lookupContainer} from '../../../src/container/container-store.js'
import type {Store} from '../../../src/storage/store.js'

const ID_A = 'abc1' + '0'.repeat(60)
const ID_B = 'abc2' + '0'.repeat(60)
const ID_C = 'deadbeef' + '1'.repeat(56)

function storeWith(entries: Array<{id: string; names: string[]}>): Store {
  const refs = entries.map(e => ({...e, image: 'img', created: '2026-01-01T00:00:00Z'}))
  return {readContainerRefs: () => refs} as unknown as Store
}

t.test('findContainer: full ID, then name, then a unique ID prefix (Podman\'s order)', async t => {
  const store = storeWith([
    {id: ID_A, names: ['first']},
    {id: ID_B, names: ['abc']},
    {id: ID_C, names: ['deadbeef0']},
    {id: 'f'.repeat(64), names: [ID_A]},
  ])
  t.equal(findContainer(store, 'abc')?.id, ID_B, 'a name that is also an ID prefix finds the named container')
  t.equal(findContainer(store, 'abc1')?.id, ID_A, 'a unique ID prefix')
  t.equal(findContainer(store, 'first')?.id, ID_A)
  t.equal(findContainer(store, ID_A)?.id, ID_A, 'a full ID wins over a name equal to it')
  t.equal(findContainer(store, 'deadbeef')?.id, ID_C, 'an ID prefix when no name matches')
  t.equal(findContainer(store, 'deadbeef0')?.id, ID_C, 'a name when no ID starts with it')
  t.equal(findContainer(store, 'nope'), undefined)
  t.equal(findContainer(store, '0123'), undefined)
})

t.test('findContainer: an ambiguous prefix names the fix; lookupContainer reports a missing one', async t => {
  const store = storeWith([{id: ID_A, names: ['one']}, {id: ID_B, names: ['two']}])
  t.throws(() => findContainer(store, 'ab'), {message: 'more than one result for container "ab"'})
  t.throws(() => lookupContainer(store, 'zzz'), {exitCode: 125, message: /no container with name or ID "zzz" found/})
})
