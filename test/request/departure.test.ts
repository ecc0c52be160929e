/** The client's going away, as the request path listens to it: one listener on the runtime's signal, the rest in JavaScript. */
import { describe, expect, it } from "vitest";
import { Departure } from "../../src/request/departure";

/** An AbortSignal that counts the listeners added to it. */
function countingSignal() {
  const controller = new AbortController();
  const signal = controller.signal;
  let added = 0;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal["addEventListener"]>) => {
    added++;
    add(...args);
  }) as AbortSignal["addEventListener"];
  return { controller, signal, added: () => added };
}

describe("Departure", () => {
  it("tells every listener still listening, once, through one listener on the signal", () => {
    const { controller, signal, added } = countingSignal();
    const departure = new Departure(signal);
    const heard: string[] = [];
    const settlement = () => heard.push("settlement");
    const first = () => heard.push("first attempt");
    const second = () => heard.push("second attempt");
    departure.on(settlement);
    departure.on(first);
    departure.off(first);
    departure.on(second);
    expect(added()).toBe(1);
    expect(departure.aborted).toBe(false);
    controller.abort();
    expect(departure.aborted).toBe(true);
    expect(heard).toEqual(["settlement", "second attempt"]);
    controller.abort();
    expect(heard).toEqual(["settlement", "second attempt"]);
  });

  it("adds nothing to the signal until someone listens", () => {
    const { controller, signal, added } = countingSignal();
    const departure = new Departure(signal);
    controller.abort();
    expect(added()).toBe(0);
    expect(departure.aborted).toBe(true);
  });

  it("calls listeners in the order they came, and none that came after the client left (the path asks `aborted` first)", () => {
    const { controller, signal } = countingSignal();
    const departure = new Departure(signal);
    const heard: string[] = [];
    departure.on(() => heard.push("a"));
    departure.on(() => heard.push("b"));
    controller.abort();
    departure.on(() => heard.push("late"));
    expect(heard).toEqual(["a", "b"]);
  });

  it("does not call a listener that an earlier one removed, as the DOM does", () => {
    const { controller, signal } = countingSignal();
    const departure = new Departure(signal);
    const heard: string[] = [];
    const second = () => heard.push("second");
    departure.on(() => {
      heard.push("first");
      departure.off(second);
    });
    departure.on(second);
    controller.abort();
    expect(heard).toEqual(["first"]);
  });

  it("calls the listeners after one that throws", () => {
    const { controller, signal } = countingSignal();
    const departure = new Departure(signal);
    const heard: string[] = [];
    departure.on(() => {
      throw new Error("a settlement bug");
    });
    departure.on(() => heard.push("the attempt cancels its origin call"));
    controller.abort();
    expect(heard).toEqual(["the attempt cancels its origin call"]);
  });
});
