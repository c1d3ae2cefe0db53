/** Run tasks with at most `size` at a time; the first failure stops new ones and is thrown once the running ones settle. */
export async function runPool(tasks: Array<() => Promise<void>>, size: number): Promise<void> {
  let next = 0
  let failure: unknown
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < tasks.length) {
      const task = tasks[next++]!
      try {
        await task()
      } catch (err) {
        if (!failed) failure = err
        failed = true
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(size, tasks.length)}, worker))
  if (failed) throw failure
}
