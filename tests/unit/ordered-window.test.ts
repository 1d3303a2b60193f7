/**
 * OrderedWindow: bounded concurrency, and a resume cursor that never passes a key whose task is
 * still running. Tasks are settled by hand (deferred promises), so every order is chosen by the
 * spec, none by timing.
 */
import { strict as assert } from "node:assert";
import { OrderedWindow } from "../../handlers/engine/orderedWindow";

/** A task the spec finishes when it chooses; `started` says whether the window ran it. */
function deferredTask() {
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const task = { started: false, finish, fail, run: () => ((task.started = true), done) };
  return task;
}

/** Lets queued promise callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("OrderedWindow", () => {
  it("keeps the cursor before a key whose task is still running, then moves past every finished key", async () => {
    const window = new OrderedWindow(4);
    const [a, b, c] = [deferredTask(), deferredTask(), deferredTask()];
    await window.submit("a", a.run);
    await window.submit("b", b.run);
    await window.submit("c", c.run);
    b.finish();
    c.finish();
    await tick();
    assert.equal(window.cursor, undefined, "a is still running: nothing before it is done");
    a.finish();
    await window.drain();
    assert.equal(window.cursor, "c");
  });

  it("runs at most `concurrency` tasks at once and starts the next when one finishes", async () => {
    const window = new OrderedWindow(2);
    const tasks = [deferredTask(), deferredTask(), deferredTask()];
    await window.submit("k1", tasks[0].run);
    await window.submit("k2", tasks[1].run);
    const third = window.submit("k3", tasks[2].run);
    await tick();
    assert.deepEqual(tasks.map((t) => t.started), [true, true, false]);
    tasks[1].finish();
    await third;
    assert.equal(tasks[2].started, true);
    assert.equal(window.cursor, undefined, "k1 still runs");
    tasks[0].finish();
    tasks[2].finish();
    await window.drain();
    assert.equal(window.cursor, "k3");
  });

  it("moves the cursor over skipped keys at once when nothing runs, and in order when something does", async () => {
    const window = new OrderedWindow(2);
    window.skip("a");
    assert.equal(window.cursor, "a");
    const b = deferredTask();
    await window.submit("b", b.run);
    window.skip("c");
    assert.equal(window.cursor, "a", "c waits behind the running b");
    b.finish();
    await window.drain();
    assert.equal(window.cursor, "c");
  });

  it("drain waits for every task, then rethrows the first unexpected error", async () => {
    const window = new OrderedWindow(3);
    const [a, b, c] = [deferredTask(), deferredTask(), deferredTask()];
    await window.submit("a", a.run);
    await window.submit("b", b.run);
    await window.submit("c", c.run);
    a.finish();
    b.fail(new Error("first"));
    let drained = false;
    const draining = window.drain().finally(() => (drained = true));
    await tick();
    assert.equal(drained, false, "c is still running");
    c.fail(new Error("second"));
    await assert.rejects(draining, /first/);
  });
});
