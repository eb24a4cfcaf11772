import { describe, expect, it } from "@effect/vitest"
import type { Routable } from "../../../src/internal/pool/router.js"
import { AFFINITY_KEYS, makeRouter } from "../../../src/internal/pool/router.js"

const slots = (n: number): Array<Routable> =>
  Array.from({ length: n }, (_, id) => ({ id, state: "ready", pending: 0, retiring: false }))

describe("router", () => {
  describe("key affinity", () => {
    it("a key used recently keeps its instance while many other keys go through", () => {
      const pool = slots(3)
      const router = makeRouter(pool, 10)
      /** One turn with this key: the instance it got, released at once. */
      const turn = (key: string) => {
        const slot = router.tryAcquire(key)
        if (slot === undefined) throw new Error(`no instance for ${key}`)
        slot.pending--
        return slot.id
      }
      const own = turn("session")
      for (let i = 0; i < 3 * AFFINITY_KEYS; i++) {
        turn(`other ${i}`)
        if (i % 1000 === 0) expect(turn("session")).toBe(own)
        expect(router.affinityKeys()).toBeLessThanOrEqual(AFFINITY_KEYS)
      }
      expect(turn("session")).toBe(own)
      expect(router.affinityKeys()).toBe(AFFINITY_KEYS)
    })

    it("a key unused for longer than the bound is forgotten, and gets a fresh pick", () => {
      const pool = slots(2)
      const router = makeRouter(pool, 10)
      const first = router.tryAcquire("old")
      expect(first?.id).toBe(0)
      for (let i = 0; i < AFFINITY_KEYS; i++) {
        const slot = router.tryAcquire(`key ${i}`)
        if (slot !== undefined) slot.pending--
      }
      // Instance 0 is still busy with the first turn: a remembered key would wait for it.
      expect(router.tryAcquire("old")?.id).toBe(1)
    })
  })
})
